"""PgQueuer worked by worker processes, on the same PostgreSQL server as ``PostgresJobStore``.

PgQueuer is a PostgreSQL queue for asyncio that claims with ``FOR UPDATE SKIP LOCKED`` and
wakes its workers with LISTEN/NOTIFY. Each worker process here (``python -m
bench.peers.pgqueuer_processes URL``) connects with psycopg, builds its ``QueueManager``, waits
at the gate, then runs ``pgqueuer.run`` with it, which is what ``pgq run module:factory`` runs,
with PgQueuer's defaults: a batch of up to 10 jobs per fetch, finished jobs' statuses written in
batches, a job whose worker stops beating its heartbeat picked again (at least once).

A failing job is retried in the database (``DatabaseRetryEntrypointExecutor``, no delay):
PgQueuer counts ``attempts`` from 0, so ``max_attempts=2`` is three runs, as ``max_retries=3``
in jobqueue_lab; after the third it is held as ``failed``. An idle worker looks for work every
10 ms as well as on a notification, as the procrastinate workers do.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pgqueuer
import psycopg
from pgqueuer import DatabaseRetryEntrypointExecutor, PsycopgDriver, QueueManager
from pgqueuer.models import Job
from pgqueuer.queries import Queries

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

IDLE_POLL = 0.01
ENQUEUE_BATCH = 1_000
FAILS = b"fails"

UNSETTLED = "SELECT EXISTS (SELECT 1 FROM pgqueuer WHERE status IN ('queued', 'picked'))"
# PgQueuer logs every change of a job's status: picked once per run, successful once at the end.
OUTCOMES = """SELECT
    count(*) FILTER (WHERE status = 'successful'), count(*) FILTER (WHERE status = 'picked')
    FROM pgqueuer_log"""


def make_manager(connection: psycopg.AsyncConnection) -> QueueManager:
    """A queue manager with the bench's one entrypoint, retried in the database."""
    manager = QueueManager(Queries(PsycopgDriver(connection)))

    def retried(parameters: object) -> DatabaseRetryEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(
            parameters, max_attempts=RUNS_PER_JOB - 1, initial_delay=timedelta(0)
        )

    @manager.entrypoint("work", on_failure="hold", executor_factory=retried)
    async def work(job: Job) -> None:
        if job.payload == FAILS:
            raise RuntimeError("flaky jobs always fail")

    return manager


def run(database: str, jobs: int, processes: int, failing: bool) -> Measured:
    """Enqueue ``jobs`` jobs, half of them failing if ``failing``, into a fresh schema on the
    server at ``database`` and time ``processes`` worker processes from the gate opening to
    every job settled."""
    with fresh_schema(database) as url:
        asyncio.run(_fill(url, jobs, failing))
        analyze(url)
        return _run(url, jobs, processes, failing)


async def _fill(url: str, jobs: int, failing: bool) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        queries = Queries(PsycopgDriver(connection))
        await queries.install()
        for start in range(0, jobs, ENQUEUE_BATCH):
            numbers = range(start, min(start + ENQUEUE_BATCH, jobs))
            payloads = [FAILS if failing and job_fails(n) else b"" for n in numbers]
            await queries.enqueue(["work"] * len(payloads), payloads, [0] * len(payloads))


def _run(url: str, jobs: int, processes: int, failing: bool) -> Measured:
    commands = [["-m", "bench.peers.pgqueuer_processes", url] for _ in range(processes)]
    with psycopg.connect(url, autocommit=True) as db:

        def settled() -> bool:
            (waiting,) = db.execute(UNSETTLED).fetchone()
            return not waiting

        with GatedWorkers(commands) as workers, Section() as section:
            workers.open()
            done = settled_after(settled, SETTLED_POLL, TIMEOUT)
            if not done or not workers.alive():
                raise BenchmarkError(f"{jobs} jobs not settled in {TIMEOUT}s:\n{workers.logs()}")
        completed, runs = db.execute(OUTCOMES).fetchone()
    check_outcome(jobs, completed, runs, failing=failing)
    return section.measured(runs)


async def worker(url: str) -> None:
    """One worker process: connect, build the manager, wait at the gate, work until SIGTERM."""
    logging.getLogger("pgqueuer").setLevel(logging.CRITICAL)  # a traceback per failure
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        manager = make_manager(connection)
        await asyncio.to_thread(ready_then_wait)

        @asynccontextmanager
        async def factory() -> AsyncIterator[QueueManager]:
            yield manager

        await pgqueuer.run(factory, dequeue_timeout=timedelta(seconds=IDLE_POLL))


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1]))
