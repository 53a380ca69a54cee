"""jobqueue_lab's durable stores worked by worker processes: ``SQLiteJobStore`` and
``PostgresJobStore``, each process a ``ClaimingWorker`` that calls ``claim_next()``.

The measuring process fills the store, starts the worker processes (``python -m
bench.ours.store_processes URL``), waits until all of them are connected and ready, then opens the
gate and times until every job is settled: completed, or failed with its three attempts spent.
Each worker process runs what ``python -m jobqueue_lab worker --workers 1`` runs (``serve`` with
one claiming worker), the first with ``--sweeper`` as well, since the sweeper moves failed jobs
back to pending; only the gate is added.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from jobqueue_lab import JobStatus
from jobqueue_lab.domain import Job
from jobqueue_lab.processes.serve import serve, stop_on_signals
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
from ..harness.postgres import fresh_schema
from ..harness.timing import Measured, Section

SWEEPER_INTERVAL = 0.01
"""Seconds between sweeps in the worker process that sweeps. A failed job waits for a sweep to
go back to pending, so the interval is short (Huey and procrastinate requeue a failed task at
once); an empty sweep costs one short write transaction."""


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
        commands = [
            ["-m", "bench.ours.store_processes", url, str(number == 0)]
            for number in range(processes)
        ]
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


@contextmanager
def fresh_store(database: str) -> Iterator[str]:
    """The URL of an empty store in ``database``, removed afterwards."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as folder:
            yield f"sqlite:///{Path(folder) / 'jobs.db'}"
    else:
        with fresh_schema(database) as url:
            yield url


def run_job(job: Job) -> None:
    """The handler: nothing, or a failure when the job's payload says it fails."""
    if job.payload["fails"]:
        raise RuntimeError("flaky jobs always fail")


def worker(url: str, sweeps: bool) -> None:
    """One worker process: open the store, wait at the gate, serve until SIGTERM."""
    stop = threading.Event()
    stop_on_signals(stop)
    with open_store(url) as store:
        ready_then_wait()
        serve(
            store,
            run_job,
            stop,
            workers=1,
            name="bench",
            sweeper_interval=SWEEPER_INTERVAL if sweeps else None,
        )


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2] == "True")
