"""The ``processes`` rows: the durable stores worked by 1, 2 and 4 worker processes, against the
queue people would pick for the same database.

* ``SQLiteJobStore`` against Huey's ``SqliteHuey`` (a consumer with process workers), both in WAL
  mode at ``synchronous=FULL``.
* ``PostgresJobStore`` against procrastinate, both on one throwaway PostgreSQL server with its
  durable defaults, started here for these rows (skipped, with the reason, where it cannot be).

For each database and workload, the six runs (two systems, three process counts) take turns in
rotating order within each repeat, every run in a fresh measuring process with fresh worker
processes and an empty store, the same jobs put in before the clock starts. So both the ratios
against the peer and the growth from 1 to 2 processes compare runs made seconds apart.
"""

from __future__ import annotations

import importlib.util
import sys

from .interleave import Contender, interleaved, per_repeat_ratio
from .lean import Children
from .rows import Row, Target
from .sizes import Sizes
from .timing import Measured, median

PROCESS_COUNTS = (1, 2, 4)
AHEAD = Target(1.0, at_least=True, strict=True)
GROWS = Target(1.0, at_least=True, strict=True)


def process_rows(children: Children, sizes: Sizes) -> list[Row]:
    rows = _database_rows(
        children,
        sizes,
        database="sqlite",
        label="SQLite synchronous=FULL",
        ours=("ours.store_processes", "SQLiteJobStore"),
        peer=("peers.huey_processes", "SqliteHuey"),
        peer_retries="retries=2",
    )
    reason = _postgres_missing()
    if reason is not None:
        check = f"processes, PostgreSQL: PostgresJobStore vs procrastinate: skipped, {reason}"
        rows.append(Row(check, "skipped"))
        return rows
    from .postgres import DurableServer

    server = DurableServer()
    try:
        server.start()
        rows += _database_rows(
            children,
            sizes,
            database=server.dsn(),
            label="PostgreSQL fsync on",
            ours=("ours.store_processes", "PostgresJobStore"),
            peer=("peers.procrastinate_processes", "procrastinate"),
            peer_retries="retry=2",
            growth=True,
        )
    finally:
        server.stop()
    return rows


def _database_rows(
    children: Children,
    sizes: Sizes,
    *,
    database: str,
    label: str,
    ours: tuple[str, str],
    peer: tuple[str, str],
    peer_retries: str,
    growth: bool = False,
) -> list[Row]:
    rows = []
    for failing in (False, True):
        workload = "half failing" if failing else "no-op"
        print(f"  {label}, {workload} ...", file=sys.stderr, flush=True)
        runs = _measured(children, sizes, database, ours[0], peer[0], failing)
        if failing:
            total = runs[("ours", 1)][0].count
            what = f"half always fail, {sizes.process_jobs:,} jobs ({total:,} runs)"
            systems = f"{ours[1]} max_retries=3 vs {peer[1]} {peer_retries}"
            unit = "runs/s"
        else:
            what = f"no-op, {sizes.process_jobs:,} jobs"
            systems = f"{ours[1]} vs {peer[1]}"
            unit = "jobs/s"
        for count in PROCESS_COUNTS:
            rows.append(
                _row(
                    f"processes, {label}, {what}, {_processes(count)}: {systems}",
                    runs[("ours", count)],
                    runs[("peer", count)],
                    unit,
                    AHEAD,
                )
            )
        if growth:
            rows.append(
                _row(
                    f"processes, {label}, {what}: {ours[1]} at 2 processes vs at 1",
                    runs[("ours", 2)],
                    runs[("ours", 1)],
                    unit,
                    GROWS,
                )
            )
    return rows


def _measured(
    children: Children, sizes: Sizes, database: str, ours: str, peer: str, failing: bool
) -> dict[tuple[str, int], list[Measured]]:
    """Every run of one workload: both systems at every process count, interleaved."""
    contenders = []
    for count in PROCESS_COUNTS:
        for side, module in (("ours", ours), ("peer", peer)):
            arguments = {"jobs": sizes.process_jobs, "processes": count, "failing": failing}
            if module != "peers.huey_processes":
                arguments["database"] = database
            contenders.append(Contender(f"{side} {count}", module, "run", arguments))
    results = interleaved(children, contenders, sizes.process_repeats)
    return {
        (name.split()[0], int(name.split()[1])): [Measured(**run) for run in runs]
        for name, runs in results.items()
    }


def _row(
    check: str, ours: list[Measured], peer: list[Measured], unit: str, target: Target
) -> Row:
    ratio = per_repeat_ratio(ours, peer, lambda run: run.per_second)
    return Row(
        check,
        f"{median([run.per_second for run in ours]):,.0f} {unit}",
        peer=f"{median([run.per_second for run in peer]):,.0f} {unit}",
        ratio=str(ratio),
        target=str(target),
        met=target.verdict(ratio.median),
    )


def _processes(count: int) -> str:
    return f"{count} process" if count == 1 else f"{count} processes"


def _postgres_missing() -> str | None:
    """Why the PostgreSQL rows cannot run here, or ``None`` when they can."""
    from .postgres import missing_reason

    reason = missing_reason()
    if reason is None and importlib.util.find_spec("procrastinate") is None:
        reason = "procrastinate is not installed (pip install 'jobqueue-lab[bench]')"
    return reason
