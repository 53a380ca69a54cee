"""Run every benchmark and print one table: ``python -m bench.run`` (``--quick`` for a tiny run).

Each row compares jobqueue_lab with a peer measured in the same run, as a ratio, beside the
target the project set. Medians of several runs keep one unlucky run on a busy machine from
deciding a row. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from . import memory, monitoring, notebooks, scaling, store_floor, throughput
from .timing import median

COURSE_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does."""

    noop_jobs: int
    monitored_jobs: int
    failing_jobs: int
    store_cycles: int
    small_store: int
    large_store: int
    memory_jobs: int
    repeats: int
    scaling_samples: int


FULL = Sizes(
    noop_jobs=20_000,
    monitored_jobs=10_000,
    failing_jobs=4_000,
    store_cycles=50_000,
    small_store=10_000,
    large_store=1_000_000,
    memory_jobs=1_000_000,
    repeats=5,
    scaling_samples=30,
)
QUICK = Sizes(
    noop_jobs=200,
    monitored_jobs=200,
    failing_jobs=100,
    store_cycles=1_000,
    small_store=1_000,
    large_store=10_000,
    memory_jobs=10_000,
    repeats=1,
    scaling_samples=3,
)


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    check: str
    ours: str
    peer: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


def at_least(ratio: float, target: float) -> str:
    return "yes" if ratio >= target else "no"


def at_most(value: float, target: float) -> str:
    return "yes" if value <= target else "no"


# --- the measurements ----------------------------------------------------------------------


def throughput_rows(sizes: Sizes) -> list[Row]:
    jobs = sizes.noop_jobs
    ours, executor, huey = [], [], []
    for _ in range(sizes.repeats):
        ours.append(throughput.pool_run(jobs).runs_per_second)
        executor.append(throughput.executor_run(jobs).runs_per_second)
        huey.append(throughput.huey_run(jobs).runs_per_second)
    vs_executor = median([o / e for o, e in zip(ours, executor)])
    vs_huey = median([o / h for o, h in zip(ours, huey)])
    return [
        Row(
            f"no-op throughput, {jobs:,} jobs: WorkerPool vs ThreadPoolExecutor(4)",
            f"{median(ours):,.0f} jobs/s",
            f"{median(executor):,.0f} jobs/s",
            f"{vs_executor:.2f}x",
            ">= 1.0x",
            at_least(vs_executor, 1.0),
        ),
        Row(
            f"no-op throughput, {jobs:,} jobs: WorkerPool vs MemoryHuey, 4 threads",
            f"{median(ours):,.0f} jobs/s",
            f"{median(huey):,.0f} jobs/s",
            f"{vs_huey:.2f}x",
            ">= 3x",
            at_least(vs_huey, 3.0),
        ),
    ]


def monitoring_rows(sizes: Sizes) -> list[Row]:
    jobs = sizes.monitored_jobs
    watched, unwatched = [], []
    for _ in range(sizes.repeats):
        watched.append(monitoring.with_dashboard(jobs))
        unwatched.append(monitoring.without_dashboard(jobs))
    share = median([w.runs_per_second / u.runs_per_second for w, u in zip(watched, unwatched)])
    refreshes = median([w.refreshes for w in watched])
    return [
        Row(
            f"no-op throughput while the Dashboard watches, {jobs:,} jobs' retry round: "
            "started from Dashboard vs the same run without it",
            f"{median([w.runs_per_second for w in watched]):,.0f} runs/s "
            f"({refreshes:.0f} count updates)",
            f"{median([u.runs_per_second for u in unwatched]):,.0f} runs/s",
            f"{share:.2f}x",
            ">= 0.9x",
            at_least(share, 0.9),
        )
    ]


def failure_path_rows(sizes: Sizes) -> list[Row]:
    jobs = sizes.failing_jobs
    ours, huey = [], []
    for _ in range(sizes.repeats):
        ours.append(throughput.pool_run(jobs, failing=True).runs_per_second)
        huey.append(throughput.huey_run(jobs, failing=True).runs_per_second)
    vs_huey = median([o / h for o, h in zip(ours, huey)])
    runs = throughput.expected_runs(jobs, failing=True)
    return [
        Row(
            f"failure path, {jobs:,} jobs ({runs:,} runs), half always fail: "
            "WorkerPool (sweeper interval 0) vs MemoryHuey retries=2",
            f"{median(ours):,.0f} runs/s",
            f"{median(huey):,.0f} runs/s",
            f"{vs_huey:.2f}x",
            ">= 5x",
            at_least(vs_huey, 5.0),
        )
    ]


def store_floor_rows(sizes: Sizes) -> list[Row]:
    cycles = sizes.store_cycles
    ours, floor = [], []
    for _ in range(sizes.repeats):
        ours.append(cycles / store_floor.store_seconds(cycles))
        floor.append(cycles / store_floor.locked_dict_seconds(cycles))
    share = median([o / f for o, f in zip(ours, floor)])
    return [
        Row(
            f"store floor, one thread, {cycles:,} create+claim+complete cycles: "
            "InMemoryJobStore vs dict + Lock",
            f"{median(ours):,.0f} cycles/s",
            f"{median(floor):,.0f} cycles/s",
            f"{share:.2f}x",
            ">= 0.40x",
            at_least(share, 0.40),
        )
    ]


def scaling_rows(sizes: Sizes) -> list[Row]:
    small = scaling.measure(sizes.small_store, sizes.scaling_samples)
    large = scaling.measure(sizes.large_store, sizes.scaling_samples)
    rows = []
    for name, label in (("get_failed_jobs", "get_failed_jobs()"), ("sweep", "one sweep_once()")):
        small_time, large_time = getattr(small, name), getattr(large, name)
        growth = large_time / small_time
        rows.append(
            Row(
                f"scaling, {label} with {scaling.FAILED_JOBS} failed jobs: "
                f"among {large.completed:,} vs {small.completed:,} completed",
                f"{large_time * 1e6:,.0f} µs",
                f"{small_time * 1e6:,.0f} µs",
                f"{growth:.2f}x",
                "<= 1.5x",
                at_most(growth, 1.5),
            )
        )
    return rows


def memory_rows(sizes: Sizes) -> list[Row]:
    per_job = memory.bytes_per_job(sizes.memory_jobs)
    return [
        Row(
            f"memory after {sizes.memory_jobs:,} completed jobs, audit log included "
            "(RSS growth in a fresh process)",
            f"{per_job:,.0f} bytes/job",
            target="<= 500 bytes/job",
            met=at_most(per_job, 500),
        )
    ]


def notebook_rows(folder: Path | None) -> list[Row]:
    if folder is None:
        return [Row("notebook time", "skipped")]
    paths = notebooks.course_notebooks(folder)
    if not paths:
        return [Row("notebook time", "no notebooks")]
    rows, total = [], 0.0
    for path in paths:
        elapsed = notebooks.execution_seconds(path)
        total += elapsed
        rows.append(Row(f"notebook {path.name}, fresh kernel", f"{elapsed:.1f} s"))
    rows.append(Row(f"whole course, {len(paths)} notebooks one after another", f"{total:.1f} s"))
    return rows


# --- output --------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [
        "| check | jobqueue_lab | peer | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (row.check, row.ours, row.peer, row.ratio, row.target, row.met)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        if names:
            cpu = names[0].split(":", 1)[1].strip()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu})"


def versions() -> str:
    packages = ["jobqueue-lab", "huey", "nbclient"]
    return ", ".join(
        [f"Python {platform.python_version()}"] + [f"{name} {version(name)}" for name in packages]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat, seconds")
    parser.add_argument(
        "--notebooks-dir",
        type=Path,
        help="time the notebooks in this folder (default: the course; --quick skips them)",
    )
    parser.add_argument("--no-notebooks", action="store_true", help="do not time notebooks")
    arguments = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(arguments)

    sizes = QUICK if args.quick else FULL
    folder = args.notebooks_dir or (None if args.quick else COURSE_NOTEBOOKS)
    if args.no_notebooks:
        folder = None
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("no-op throughput", lambda: throughput_rows(sizes)),
        ("dashboard monitoring", lambda: monitoring_rows(sizes)),
        ("failure path", lambda: failure_path_rows(sizes)),
        ("store floor", lambda: store_floor_rows(sizes)),
        ("scaling", lambda: scaling_rows(sizes)),
        ("memory", lambda: memory_rows(sizes)),
        ("notebooks", lambda: notebook_rows(folder)),
    ]
    rows: list[Row] = []
    for name, step in steps:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows.extend(step())

    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind = "quick run (sizes too small for conclusions)" if args.quick else "full run"
    print(f"jobqueue_lab benchmarks, {started}, {kind}")
    print("command: " + " ".join(["python -m bench.run", *arguments]))
    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print(f"repeats: median of {sizes.repeats} per throughput and store-floor row\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
