"""The table's rows: each measures its systems in lean processes and compares them.

Every ratio is a median of ratios taken within one repeat (see ``bench.harness.interleave``), beside
the target the project set for it. Where the project holds a floor (a bound the engine must never
fall below, whatever its readability costs), the row shows the floor: the in-memory pool at least
level with MemoryHuey on no-op jobs and 5x ahead on the failure path, at most half a thread
switch per job, at most 500 bytes a job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics.breakdown import StepTimes
from .interleave import Contender, interleaved, per_repeat_ratio
from .lean import Children
from .sizes import Sizes
from .timing import Measured, median


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    check: str
    ours: str
    ours_switches: str = ""
    peer: str = ""
    peer_switches: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


@dataclass(frozen=True)
class Target:
    """A bound a ratio or value must stay on the right side of."""

    bound: float
    at_least: bool
    unit: str = "x"
    strict: bool = False
    """True when the value must pass the bound, not merely reach it ("ahead", "grows")."""

    def __str__(self) -> str:
        sign = ">" if self.at_least else "<"
        return f"{sign if self.strict else sign + '='} {self.bound:g}{self.unit}"

    def verdict(self, value: float) -> str:
        if self.strict and value == self.bound:
            return "no"
        met = value >= self.bound if self.at_least else value <= self.bound
        return "yes" if met else "no"


def _measured(results: dict[str, list[Any]]) -> dict[str, list[Measured]]:
    return {name: [Measured(**run) for run in runs] for name, runs in results.items()}


def _throughput_row(
    check: str,
    ours: Sequence[Measured],
    peer: Sequence[Measured],
    unit: str,
    target: Target | None,
) -> Row:
    ratio = per_repeat_ratio(ours, peer, lambda run: run.per_second)
    return Row(
        check,
        f"{median([run.per_second for run in ours]):,.0f} {unit}",
        f"{median([run.switches_each for run in ours]):.2f}",
        f"{median([run.per_second for run in peer]):,.0f} {unit}",
        f"{median([run.switches_each for run in peer]):.2f}",
        str(ratio),
        str(target) if target else "",
        target.verdict(ratio.median) if target else "",
    )


def noop_runs(children: Children, sizes: Sizes) -> dict[str, list[Measured]]:
    """No-op runs of the pool and its three peers, with 4 worker threads each."""
    jobs = {"jobs": sizes.noop_jobs}
    return _measured(
        interleaved(
            children,
            [
                Contender("pool", "ours.pool_runs", "noop", jobs),
                Contender("executor", "peers.executor_runs", "noop", jobs),
                Contender("honest", "peers.honest_executor", "noop", jobs),
                Contender("huey", "peers.huey_runs", "noop", jobs),
            ],
            sizes.repeats,
        )
    )


def noop_rows(runs: dict[str, list[Measured]], sizes: Sizes) -> list[Row]:
    what = f"no-op, {sizes.noop_jobs:,} jobs: WorkerPool(4) vs"
    pool = runs["pool"]
    return [
        _throughput_row(
            f"{what} bare ThreadPoolExecutor(4)",
            pool,
            runs["executor"],
            "jobs/s",
            Target(1.0, at_least=True),
        ),
        _throughput_row(
            f"{what} honest executor: ThreadPoolExecutor(4) + dict records, one lock, audit tuples",
            pool,
            runs["honest"],
            "jobs/s",
            None,
        ),
        _throughput_row(
            f"{what} MemoryHuey, 4 threads (floor)",
            pool,
            runs["huey"],
            "jobs/s",
            Target(1.0, at_least=True),
        ),
        _switches_row(f"thread switches per job, {sizes.noop_jobs:,} no-op jobs (floor)", pool),
    ]


def _switches_row(check: str, ours: Sequence[Measured]) -> Row:
    switches = median([run.switches_each for run in ours])
    target = Target(0.5, at_least=False, unit="")
    return Row(
        check,
        f"{switches:.2f} per job",
        f"{switches:.2f}",
        target=str(target),
        met=target.verdict(switches),
    )


def failure_path_rows(children: Children, sizes: Sizes) -> list[Row]:
    jobs = {"jobs": sizes.failing_jobs}
    runs = _measured(
        interleaved(
            children,
            [
                Contender("pool", "ours.pool_runs", "failure_path", jobs),
                Contender("huey", "peers.huey_runs", "failure_path", jobs),
            ],
            sizes.repeats,
        )
    )
    total_runs = runs["pool"][0].count
    return [
        _throughput_row(
            f"failure path, {sizes.failing_jobs:,} jobs ({total_runs:,} runs), half always fail: "
            "WorkerPool(4) max_retries=3, sweeper interval 0 vs MemoryHuey retries=2 (floor)",
            runs["pool"],
            runs["huey"],
            "runs/s",
            Target(5, at_least=True),
        )
    ]


def store_rows(children: Children, sizes: Sizes) -> list[Row]:
    count = {"count": sizes.store_cycles}
    runs = _measured(
        interleaved(
            children,
            [
                Contender("store", "ours.store_cycles", "cycles", count),
                Contender("floor", "peers.locked_dict", "cycles", count),
            ],
            sizes.repeats,
        )
    )
    return [
        _throughput_row(
            f"store, one thread, {sizes.store_cycles:,} create+claim+complete cycles: "
            "InMemoryJobStore vs dict + Lock floor",
            runs["store"],
            runs["floor"],
            "cycles/s",
            Target(0.25, at_least=True),
        )
    ]


def scaling_rows(children: Children, sizes: Sizes) -> list[Row]:
    """Each size is measured ``sizes.repeats`` times, each in its own process, the two sizes
    taking turns; the ratio is the median of the ratios within one repeat. A single pair of
    processes is not enough: timings of some microseconds move by half from one process to
    the next."""
    small, large = [], []
    for repeat in range(sizes.repeats):
        in_turn = [(small, sizes.small_store), (large, sizes.large_store)]
        if repeat % 2:
            in_turn.reverse()
        for results, completed in in_turn:
            results.append(
                children.run(
                    "ours.scaling", "measure", completed=completed, samples=sizes.scaling_samples
                )
            )
    target = Target(1.5, at_least=False)
    rows = []
    for name, label in (("get_failed_jobs", "get_failed_jobs()"), ("sweep", "one sweep_once()")):
        growths = [big[name] / few[name] for big, few in zip(large, small, strict=True)]
        growth = median(growths)
        rows.append(
            Row(
                f"scaling, {label} with 100 failed jobs: among {sizes.large_store:,} "
                f"vs {sizes.small_store:,} completed",
                f"{median([run[name] for run in large]) * 1e6:,.1f} µs",
                peer=f"{median([run[name] for run in small]) * 1e6:,.1f} µs",
                ratio=f"{growth:.2f}x ({min(growths):.2f}-{max(growths):.2f})",
                target=str(target),
                met=target.verdict(growth),
            )
        )
    return rows


def memory_rows(children: Children, sizes: Sizes) -> list[Row]:
    per_job = children.run("ours.memory", "bytes_per_job", jobs=sizes.memory_jobs)
    target = Target(500, at_least=False, unit=" bytes/job")
    return [
        Row(
            f"memory after {sizes.memory_jobs:,} completed jobs, audit log included "
            "(RSS growth in a fresh process)",
            f"{per_job:,.0f} bytes/job",
            target=str(target),
            met=target.verdict(per_job),
        )
    ]


def dashboard_rows(children: Children, sizes: Sizes) -> list[Row]:
    jobs = {"jobs": sizes.monitored_jobs}
    runs = interleaved(
        children,
        [
            Contender("watched", "ours.monitoring", "with_dashboard", jobs, allow_heavy=True),
            Contender("unwatched", "ours.monitoring", "without_dashboard", jobs, allow_heavy=True),
        ],
        sizes.repeats,
    )
    watched, unwatched = runs["watched"], runs["unwatched"]
    ratio = per_repeat_ratio(watched, unwatched, lambda run: run["runs_per_second"])
    refreshes = median([run["refreshes"] for run in watched])
    target = Target(0.9, at_least=True)
    return [
        Row(
            f"no-op while the Dashboard watches, {sizes.monitored_jobs:,} jobs' retry round: "
            "started from Dashboard vs the same run without it (both import the dashboard)",
            f"{median([run['runs_per_second'] for run in watched]):,.0f} runs/s "
            f"({refreshes:.0f} count updates)",
            peer=f"{median([run['runs_per_second'] for run in unwatched]):,.0f} runs/s",
            ratio=str(ratio),
            target=str(target),
            met=target.verdict(ratio.median),
        )
    ]


def course_notebooks(folder: Path) -> list[Path]:
    """The notebooks directly in ``folder``, in course order (worked solutions live below it)."""
    return sorted(folder.glob("*.ipynb"))


def notebook_rows(children: Children, folder: Path | None) -> list[Row]:
    if folder is None:
        return [Row("notebook time", "skipped")]
    paths = course_notebooks(folder)
    if not paths:
        return [Row("notebook time", "no notebooks")]
    rows, total = [], 0.0
    for path in paths:
        elapsed = children.run(
            "ours.notebooks", "execution_seconds", allow_heavy=True, path=str(path.resolve())
        )
        total += elapsed
        rows.append(Row(f"notebook {path.name}, fresh kernel", f"{elapsed:.1f} s"))
    rows.append(Row(f"whole course, {len(paths)} notebooks one after another", f"{total:.1f} s"))
    return rows


# --- where the time goes -------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """Microseconds per no-op job: each bookkeeping step alone, then a whole job with one and
    with four worker threads, for the pool, the honest executor and the bare executor."""

    ours: StepTimes
    honest: StepTimes
    one_worker: dict[str, float]
    four_workers: dict[str, float]
    switches_one: dict[str, float]
    switches_four: dict[str, float]
    ingredients: dict[str, float]


def breakdown(
    children: Children, sizes: Sizes, four_workers: dict[str, list[Measured]]
) -> Breakdown:
    """The steps and the one-worker runs are measured here; the four-worker runs are the
    no-op rows' own, so the breakdown and the table agree."""
    step_jobs = {"jobs": sizes.step_jobs}
    steps = interleaved(
        children,
        [
            Contender("ours", "ours.store_cycles", "steps", step_jobs),
            Contender("honest", "peers.honest_executor", "steps", step_jobs),
        ],
        sizes.repeats,
    )
    one_worker = {"jobs": sizes.noop_jobs, "workers": 1}
    single = _measured(
        interleaved(
            children,
            [
                Contender("pool", "ours.pool_runs", "noop", one_worker),
                Contender("honest", "peers.honest_executor", "noop", one_worker),
                Contender("executor", "peers.executor_runs", "noop", one_worker),
            ],
            sizes.repeats,
        )
    )
    return Breakdown(
        _median_steps(steps["ours"]),
        _median_steps(steps["honest"]),
        _micros_per_job(single),
        _micros_per_job(four_workers),
        _switches_per_job(single),
        _switches_per_job(four_workers),
        children.run("diagnostics.ingredients", "nanoseconds", calls=sizes.ingredient_calls),
    )


def _micros_per_job(runs: dict[str, list[Measured]]) -> dict[str, float]:
    return {name: median([1e6 / run.per_second for run in got]) for name, got in runs.items()}


def _switches_per_job(runs: dict[str, list[Measured]]) -> dict[str, float]:
    return {name: median([run.switches_each for run in got]) for name, got in runs.items()}


def _median_steps(runs: list[dict[str, float]]) -> StepTimes:
    return StepTimes(
        median([run["create"] for run in runs]),
        median([run["claim"] for run in runs]),
        median([run["complete"] for run in runs]),
    )
