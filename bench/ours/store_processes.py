"""jobqueue_lab's durable stores worked by worker processes: ``SQLiteJobStore`` and
``PostgresJobStore``, each process the worker command, ``python -m jobqueue_lab worker``.

The measuring process fills the store (and, on PostgreSQL, has the tables analysed), starts the
worker processes, waits until all of them are ready, then opens the gate and times until every
job is settled: completed, or failed with its three attempts spent. Each worker process runs
the worker command as the README shows it, one worker thread each, the first with
``--sweeper`` as well, since the sweeper moves failed jobs back to pending. Only the gate is
added (``python -m bench.ours.store_processes ARGUMENTS``: import the command, say ready, wait,
then run ``jobqueue_lab.__main__.main(ARGUMENTS)``), so whatever the command does, the bench
measures. The command opens its store after the gate: a few milliseconds that count against
us.

``pickup_waits`` measures the other thing a worker process is for: how soon an idle worker
starts a job that has just been made.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from pathlib import Path

from jobqueue_lab import JobStatus
from jobqueue_lab.stores.urls import open_store

from ..harness.gated import GatedWorkers, ready_then_wait, settled_after
from ..harness.jobs import (
    RUNS_PER_JOB,
    SETTLED_POLL,
    TIMEOUT,
    BenchmarkError,
    check_outcome,
    job_fails,
)
from ..harness.postgres import analyze, fresh_schema
from ..harness.timing import Measured, Section

SWEEPER_INTERVAL = 0.01
"""Seconds between sweeps in the worker process that sweeps. A failed job waits for a sweep to
go back to pending, so the interval is short (Huey and procrastinate requeue a failed task at
once); an empty sweep costs one short write transaction."""

PICKUP_SPACING = (0.25, 0.5)
"""Seconds between two jobs in the pickup measurement, chosen at random in this range: long
enough for idle workers to settle into their slowest pace of asking, and random so that a job
is made at any moment of that pace, not in step with it."""


def run(
    database: str,
    jobs: int,
    processes: int,
    failing: bool,
    watch: Callable[[], AbstractContextManager] = nullcontext,
) -> Measured:
    """Fill a fresh store with ``jobs`` jobs, half of them failing if ``failing``, and time
    ``processes`` worker processes from the gate opening to every job settled.

    ``database`` is ``"sqlite"`` (a new file in a temporary folder) or the ``postgresql://``
    URL of a server (a new schema on it). ``watch`` is entered just before the gate opens and
    left once every job is settled (``bench.diagnostics.process_profile`` counts what the server
    did).
    """
    with fresh_store(database) as url, open_store(url) as store:
        for number in range(jobs):
            payload = {"fails": failing and job_fails(number)}
            store.create_job("bench", payload, max_retries=RUNS_PER_JOB)
        if database != "sqlite":
            analyze(url)
        commands = worker_commands(url, processes, "bench.ours.handlers:run_job")
        with GatedWorkers(commands) as workers, watch(), Section() as section:
            workers.open()
            settled = settled_after(store.all_settled, SETTLED_POLL, TIMEOUT)
            if not settled or not workers.alive():
                raise BenchmarkError(f"{jobs} jobs not settled in {TIMEOUT}s:\n{workers.logs()}")
        finished = store.list_jobs()
    failed = [job for job in finished if job.status is JobStatus.FAILED]
    if any(job.attempts != RUNS_PER_JOB for job in failed):
        raise BenchmarkError("a job failed before its last attempt")
    runs = sum(job.attempts for job in finished)
    check_outcome(jobs, jobs - len(failed), runs, failing=failing)
    return section.measured(runs)


def pickup_waits(database: str, jobs: int, processes: int) -> list[float]:
    """Seconds from making each of ``jobs`` jobs to its handler starting, with ``processes``
    idle worker processes already waiting: one job at a time, each made only once the one
    before has started, at random intervals (``PICKUP_SPACING``). The wait is measured on the
    wall clock that the measuring and the worker processes share: the job's payload carries the
    time just before ``create_job``, so a create's own commit counts. One job goes first, not
    counted, so that every worker has opened its store and asked at least once."""
    with (
        fresh_store(database) as url,
        open_store(url) as store,
        tempfile.TemporaryDirectory(prefix="bench-pickups-") as folder,
    ):
        pickups = Path(folder) / "pickups.txt"
        pickups.touch()
        commands = worker_commands(url, processes, "bench.ours.handlers:note_pickup")
        with GatedWorkers(commands) as workers:
            workers.open()
            for number in range(1, jobs + 2):
                store.create_job("bench", {"created": time.time(), "pickups": str(pickups)})
                started = settled_after(partial(_has_lines, pickups, number), 0.001, TIMEOUT)
                if not started or not workers.alive():
                    raise BenchmarkError(f"job {number} never started:\n{workers.logs()}")
                time.sleep(random.uniform(*PICKUP_SPACING))
        waits = [float(line) for line in pickups.read_text().split()]
    return waits[1:]


def _has_lines(path: Path, count: int) -> bool:
    return path.read_text().count("\n") >= count


def worker_commands(url: str, processes: int, handler: str) -> list[list[str]]:
    """The worker command for each process, behind the gate; the first one also sweeps."""
    commands = []
    for number in range(1, processes + 1):
        command = ["-m", "bench.ours.store_processes", "worker", "--store", url]
        command += ["--handler", handler, "--workers", "1", "--name", f"process-{number}"]
        if number == 1:
            command += ["--sweeper", "--sweeper-interval", str(SWEEPER_INTERVAL)]
        commands.append(command)
    return commands


@contextmanager
def fresh_store(database: str) -> Iterator[str]:
    """The URL of an empty store in ``database``, removed afterwards."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as folder:
            yield f"sqlite:///{Path(folder) / 'jobs.db'}"
    else:
        with fresh_schema(database) as url:
            yield url


def gated_command(arguments: list[str]) -> int:
    """One worker process: import the worker command and the handlers, wait at the gate, then
    run the command with ``arguments``."""
    from jobqueue_lab.__main__ import main

    from . import handlers  # noqa: F401  (imported before the gate, as the command will)

    ready_then_wait()
    return main(arguments)


if __name__ == "__main__":
    sys.exit(gated_command(sys.argv[1:]))
