"""The ``processes`` rows: the durable stores worked by 1, 2 and 4 worker processes, against the
queues people would pick for the same database, then how soon an idle worker starts a new job,
and whether a claim slows down as finished jobs pile up.

* ``SQLiteJobStore`` against Huey's ``SqliteHuey`` and persist-queue's ``SQLiteAckQueue``, all
  in WAL mode at ``synchronous=FULL``.
* ``PostgresJobStore`` against procrastinate and PgQueuer, all on one throwaway PostgreSQL
  server with ``fsync`` on, started here for these rows (skipped, with the reason, where it
  cannot be), every table analysed once it is filled.

For each database and workload, every run (each system at each process count) takes its turn
in rotating order within each repeat, in a fresh measuring process with fresh worker processes
and an empty store, the same jobs put in before the gate opens. So the ratios against each peer
and the growth from 1 to 2 processes compare runs made seconds apart. A peer that is not
installed gets a row saying so.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from dataclasses import dataclass

from .interleave import Contender, interleaved, per_repeat_ratio
from .lean import Children
from .rows import Row, Target
from .sizes import Sizes
from .timing import Measured, median

PROCESS_COUNTS = (1, 2, 4)
PICKUP_PROCESSES = 2
GROWS = Target(1.0, at_least=True, strict=True)
PICKUP_MEDIAN = Target(5, at_least=False, unit=" ms")
PICKUP_P99 = Target(50, at_least=False, unit=" ms")
SCALE = Target(1.5, at_least=False)


@dataclass(frozen=True)
class Peer:
    """A queue measured against one of our stores, and the target the project set against it:
    at every process count and workload, or only at ``target_at`` (failing, processes)."""

    name: str
    module: str
    package: str
    retries: str
    target: Target | None = None
    target_at: tuple[bool, int] | None = None

    def target_for(self, failing: bool, processes: int) -> Target | None:
        if self.target_at not in (None, (failing, processes)):
            return None
        return self.target

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None


@dataclass(frozen=True)
class Database:
    """One database, our store on it, and its peers."""

    label: str
    store: str
    peers: tuple[Peer, ...]
    growth: bool = False


SQLITE = Database(
    "SQLite synchronous=FULL",
    "SQLiteJobStore",
    (
        Peer("SqliteHuey", "peers.huey_processes", "huey", "retries=2", Target(1.2, True)),
        Peer("SQLiteAckQueue", "peers.ackqueue_processes", "persistqueue", "3 runs"),
    ),
)
POSTGRES = Database(
    "PostgreSQL fsync on",
    "PostgresJobStore",
    (
        Peer(
            "procrastinate",
            "peers.procrastinate_processes",
            "procrastinate",
            "retry=2",
            Target(1.5, True),
        ),
        Peer(
            "PgQueuer",
            "peers.pgqueuer_processes",
            "pgqueuer",
            "max_attempts=2",
            Target(1.0, True),
            target_at=(False, 4),
        ),
    ),
    growth=True,
)


def process_rows(children: Children, sizes: Sizes) -> list[Row]:
    rows = _database_rows(children, sizes, SQLITE, "sqlite")
    rows += _pickup_rows(children, sizes, SQLITE, "sqlite")
    rows += _scale_rows(children, sizes, SQLITE, "sqlite")
    from .postgres import missing_reason

    reason = missing_reason()
    if reason is not None:
        rows.append(Row(f"processes, PostgreSQL: skipped, {reason}", "skipped"))
        return rows
    from .postgres import DurableServer

    server = DurableServer()
    try:
        server.start()
        rows += _database_rows(children, sizes, POSTGRES, server.dsn())
        rows += _pickup_rows(children, sizes, POSTGRES, server.dsn())
        rows += _scale_rows(children, sizes, POSTGRES, server.dsn())
    finally:
        server.stop()
    return rows


def _database_rows(
    children: Children, sizes: Sizes, database: Database, where: str
) -> list[Row]:
    rows = []
    peers = [peer for peer in database.peers if peer.installed()]
    for peer in database.peers:
        if peer not in peers:
            rows.append(
                Row(
                    f"processes, {database.label}: {database.store} vs {peer.name}: "
                    f"not installed (pip install 'jobqueue-lab[bench]')",
                    "not installed",
                )
            )
    for failing in (False, True):
        workload = "half failing" if failing else "no-op"
        print(f"  {database.label}, {workload} ...", file=sys.stderr, flush=True)
        runs = _measured(children, sizes, where, peers, failing)
        if failing:
            total = runs[("ours", 1)][0].count
            what = f"half always fail, {sizes.process_jobs:,} jobs ({total:,} runs)"
            unit = "runs/s"
        else:
            what = f"no-op, {sizes.process_jobs:,} jobs"
            unit = "jobs/s"
        for peer in peers:
            systems = f"{database.store} vs {peer.name}"
            if failing:
                systems = f"{database.store} max_retries=3 vs {peer.name} {peer.retries}"
            for count in PROCESS_COUNTS:
                rows.append(
                    _row(
                        f"processes, {database.label}, {what}, {_processes(count)}: {systems}",
                        runs[("ours", count)],
                        runs[(peer.name, count)],
                        unit,
                        peer.target_for(failing, count),
                    )
                )
        if database.growth:
            rows.append(
                _row(
                    f"processes, {database.label}, {what}: {database.store} at 2 processes "
                    "vs at 1",
                    runs[("ours", 2)],
                    runs[("ours", 1)],
                    unit,
                    GROWS,
                )
            )
    return rows


def _measured(
    children: Children, sizes: Sizes, where: str, peers: list[Peer], failing: bool
) -> dict[tuple[str, int], list[Measured]]:
    """Every run of one workload: every system at every process count, interleaved."""
    systems = [("ours", "ours.store_processes", True)]
    systems += [(peer.name, peer.module, where != "sqlite") for peer in peers]
    contenders = []
    for count in PROCESS_COUNTS:
        for name, module, takes_database in systems:
            arguments = {"jobs": sizes.process_jobs, "processes": count, "failing": failing}
            if takes_database:
                arguments["database"] = where
            contenders.append(Contender(f"{name} {count}", module, "run", arguments))
    results = interleaved(children, contenders, sizes.process_repeats)
    measured = {}
    for contender in contenders:
        name, count = contender.name.rsplit(" ", 1)
        measured[(name, int(count))] = [Measured(**run) for run in results[contender.name]]
    return measured


def _pickup_rows(
    children: Children, sizes: Sizes, database: Database, where: str
) -> list[Row]:
    print(f"  {database.label}, pickup ...", file=sys.stderr, flush=True)
    waits = children.run(
        "ours.store_processes",
        "pickup_waits",
        database=where,
        jobs=sizes.pickup_jobs,
        processes=PICKUP_PROCESSES,
    )
    check = (
        f"pickup, {database.label}, {database.store}, {PICKUP_PROCESSES} idle worker processes, "
        f"{len(waits):,} jobs one at a time: create to handler start"
    )
    on_postgres = database is POSTGRES
    rows = []
    for name, value, target in (
        ("median", median(waits), PICKUP_MEDIAN),
        ("99th percentile", _percentile_99(waits), PICKUP_P99),
    ):
        target = target if on_postgres else None
        milliseconds = value * 1000
        rows.append(
            Row(
                f"{check}, {name}",
                f"{milliseconds:,.1f} ms",
                target=str(target) if target else "",
                met=target.verdict(milliseconds) if target else "",
            )
        )
    return rows


def _percentile_99(values: list[float]) -> float:
    """The 99th percentile; of fewer than 100 values, an estimate between the highest two."""
    if len(values) < 2:
        return max(values)
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _scale_rows(children: Children, sizes: Sizes, database: Database, where: str) -> list[Row]:
    print(f"  {database.label}, table scale ...", file=sys.stderr, flush=True)
    found = children.run(
        "ours.table_scale",
        "run",
        database=where,
        small=sizes.small_store,
        large=sizes.large_store,
        cycles=sizes.scale_cycles,
        repeats=sizes.repeats,
    )
    ratio = per_repeat_ratio(found["large"], found["small"], float)
    return [
        Row(
            f"table scale, {database.label}, {database.store}, claim_next()+update_status(), "
            f"{sizes.scale_cycles:,} cycles: among {sizes.large_store:,} vs "
            f"{sizes.small_store:,} finished jobs",
            _micros(found["large"]),
            peer=_micros(found["small"]),
            ratio=str(ratio),
            target=str(SCALE),
            met=SCALE.verdict(ratio.median),
        )
    ]


def _micros(seconds: list[float]) -> str:
    return f"{median(seconds) * 1e6:,.1f} µs"


def _row(
    check: str,
    ours: list[Measured],
    peer: list[Measured],
    unit: str,
    target: Target | None,
) -> Row:
    ratio = per_repeat_ratio(ours, peer, lambda run: run.per_second)
    return Row(
        check,
        f"{median([run.per_second for run in ours]):,.0f} {unit}",
        peer=f"{median([run.per_second for run in peer]):,.0f} {unit}",
        ratio=str(ratio),
        target=str(target) if target else "",
        met=target.verdict(ratio.median) if target else "",
    )


def _processes(count: int) -> str:
    return f"{count} process" if count == 1 else f"{count} processes"


