"""The benchmark's method, checked without timing anything: systems take turns in rotating
order, and each ratio is taken within one repeat before the median."""

import dataclasses

from bench.harness import process_rows as process_rows_module
from bench.harness.interleave import Contender, interleaved, per_repeat_ratio, rotated
from bench.harness.rows import Target
from bench.harness.sizes import QUICK


class RecordingChildren:
    """Stands in for ``bench.harness.lean.Children``: records the order of runs, measures
    nothing."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def run(self, module: str, function: str, *, allow_heavy: bool = False, **arguments):
        self.order.append(module)
        if module.endswith("_processes"):  # the process rows read a Measured back
            return {"seconds": 1.0, "count": len(self.order), "switches": 0}
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


def test_ahead_and_grows_are_strict_targets():
    # The process rows ask to be ahead of the peer and to grow from 1 to 2 processes: an
    # equal rate is neither.
    ahead = Target(1.0, at_least=True, strict=True)
    assert str(ahead) == "> 1x"
    assert [ahead.verdict(value) for value in (0.99, 1.0, 1.01)] == ["no", "no", "yes"]
    assert str(Target(1.0, at_least=True)) == ">= 1x"
    assert Target(1.0, at_least=True).verdict(1.0) == "yes"


def test_the_process_rows_pair_each_system_with_its_peers_at_every_process_count():
    children = RecordingChildren()
    sizes = dataclasses.replace(QUICK, process_repeats=2)
    peers = list(process_rows_module.SQLITE.peers)
    runs = process_rows_module._measured(children, sizes, "sqlite", peers, failing=False)
    systems = ("ours", "SqliteHuey", "SQLiteAckQueue")
    assert sorted(runs) == sorted((system, n) for system in systems for n in (1, 2, 4))
    assert all(len(measured) == 2 for measured in runs.values())
    # Every system at every count takes its turn within each repeat, the next repeat rotated.
    first, second = children.order[:9], children.order[9:]
    modules = ["ours.store_processes", "peers.huey_processes", "peers.ackqueue_processes"]
    assert first == modules * 3
    assert second == rotated(first, 1)


def test_a_peer_that_is_not_installed_gets_a_row_saying_so_and_is_not_run():
    missing = process_rows_module.Peer("Absent", "peers.absent", "no_such_package_here", "")
    database = dataclasses.replace(
        process_rows_module.SQLITE, peers=(missing, process_rows_module.SQLITE.peers[0])
    )
    children = RecordingChildren()
    rows = process_rows_module._database_rows(children, QUICK, database, "sqlite")
    absent = [row for row in rows if "Absent" in row.check]
    assert [row.ours for row in absent] == ["not installed"]
    assert "peers.absent" not in children.order
    assert sum("SqliteHuey" in row.check for row in rows) == 6  # no-op and failing, 1, 2, 4


def test_a_target_against_one_peer_may_hold_at_one_process_count_only():
    pgqueuer = process_rows_module.POSTGRES.peers[1]
    assert str(pgqueuer.target_for(False, 4)) == ">= 1x"
    assert pgqueuer.target_for(False, 2) is None
    assert pgqueuer.target_for(True, 4) is None
    procrastinate = process_rows_module.POSTGRES.peers[0]
    targets = {str(procrastinate.target_for(f, n)) for f in (False, True) for n in (1, 2, 4)}
    assert targets == {">= 1.5x"}
