"""The benchmark's method, checked without timing anything: systems take turns in rotating
order, and each ratio is taken within one repeat before the median."""

from bench.interleave import Contender, interleaved, per_repeat_ratio, rotated


class RecordingChildren:
    """Stands in for ``bench.lean.Children``: records the order of runs, measures nothing."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def run(self, module: str, function: str, *, allow_heavy: bool = False, **arguments):
        self.order.append(module)
        return len(self.order)


def test_rotated_starts_one_further_along_each_time():
    assert rotated("abc", 0) == ["a", "b", "c"]
    assert rotated("abc", 1) == ["b", "c", "a"]
    assert rotated("abc", 4) == ["b", "c", "a"]


def test_every_system_runs_once_per_repeat_and_the_first_turn_rotates():
    children = RecordingChildren()
    contenders = [Contender(name, name, "noop") for name in ("pool", "executor", "huey")]
    results = interleaved(children, contenders, repeats=3)
    assert children.order == [
        "pool", "executor", "huey",
        "executor", "huey", "pool",
        "huey", "pool", "executor",
    ]  # fmt: skip
    assert {name: len(runs) for name, runs in results.items()} == {
        "pool": 3,
        "executor": 3,
        "huey": 3,
    }


def test_the_ratio_is_the_median_of_ratios_within_each_repeat():
    # Medians taken apart would give 4 / 2 = 2.0; per repeat the ratios are 1, 2 and 4.
    ratio = per_repeat_ratio([1.0, 4.0, 8.0], [1.0, 2.0, 2.0], float)
    assert (ratio.median, ratio.low, ratio.high) == (2.0, 1.0, 4.0)
    assert str(ratio) == "2.00x (1.00-4.00)"
