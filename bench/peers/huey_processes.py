"""Huey's ``SqliteHuey`` worked by a consumer with process workers, at the same durability as
``SQLiteJobStore``.

Both sides run SQLite in WAL mode with ``synchronous=FULL``: every commit is flushed to disk
before it returns. ``SQLiteJobStore`` sets that on each connection; ``SqliteHuey`` leaves
SQLite's default unless given ``fsync``, so it is given ``fsync=True``, which sets the same
pragma (``synchronous=2``).

The tasks are enqueued before the consumer starts; the clock starts as the consumer forks its
workers (and its scheduler, as ``huey_consumer -k process`` does) and stops when every task has
settled, counted from Huey's signals in the worker processes through shared counters.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from pathlib import Path

from huey import SqliteHuey
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

from ..harness.gated import settled_after
from ..harness.jobs import (
    RUNS_PER_JOB,
    SETTLED_POLL,
    TIMEOUT,
    BenchmarkError,
    check_outcome,
    job_fails,
)
from ..harness.timing import Measured, Section
from .huey_runs import InProcessConsumer

FORK = multiprocessing.get_context("fork")


class SharedTally:
    """Runs, completed and settled tasks, counted in any worker process (forked from this one)
    into shared memory."""

    def __init__(self) -> None:
        self._counts = FORK.Array("q", 3)  # runs, completed, settled; with a lock

    def record(self, signal: str, task: object, *args: object) -> None:
        with self._counts.get_lock():
            self._counts[0] += 1
            if signal == SIGNAL_COMPLETE:
                self._counts[1] += 1
            if signal == SIGNAL_COMPLETE or not task.retries:
                self._counts[2] += 1

    @property
    def runs(self) -> int:
        return self._counts[0]

    @property
    def completed(self) -> int:
        return self._counts[1]

    @property
    def settled(self) -> int:
        return self._counts[2]


def run(jobs: int, processes: int, failing: bool) -> Measured:
    """Enqueue ``jobs`` tasks, half of them failing if ``failing`` (``retries=2``: three runs),
    and time a consumer with ``processes`` worker processes until every task has settled."""
    with tempfile.TemporaryDirectory(prefix="bench-huey-") as folder:
        huey = SqliteHuey("bench", filename=str(Path(folder) / "huey.db"), fsync=True)
        tally = SharedTally()
        huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(tally.record)

        @huey.task(retries=RUNS_PER_JOB - 1 if failing else 0)
        def work(fails: bool) -> None:
            if fails:
                raise RuntimeError("flaky jobs always fail")

        for number in range(jobs):
            work(failing and job_fails(number))
        _check_durability(huey)
        logging.getLogger("huey").setLevel(logging.CRITICAL)  # a traceback per failure
        consumer = InProcessConsumer(
            huey,
            workers=processes,
            worker_type="process",
            periodic=False,
            initial_delay=0.001,
            max_delay=0.01,
        )
        with Section() as section:
            consumer.start()
            settled = settled_after(lambda: tally.settled >= jobs, SETTLED_POLL, TIMEOUT)
        consumer.stop(graceful=True)
    if not settled:
        raise BenchmarkError(f"Huey did not settle {jobs} tasks in {TIMEOUT}s")
    check_outcome(jobs, tally.completed, tally.runs, failing=failing)
    return section.measured(tally.runs)


def _check_durability(huey: SqliteHuey) -> None:
    """Refuse to measure unless Huey's connections run at ``synchronous=FULL`` in WAL mode."""
    connection = huey.storage.conn
    (sync,) = connection.execute("PRAGMA synchronous").fetchone()
    (journal,) = connection.execute("PRAGMA journal_mode").fetchone()
    if (sync, journal) != (2, "wal"):
        raise BenchmarkError(f"SqliteHuey runs at synchronous={sync}, journal_mode={journal}")

