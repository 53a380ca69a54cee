"""procrastinate worked by worker processes, on the same PostgreSQL server as
``PostgresJobStore``.

procrastinate is the PostgreSQL-native Python queue whose claim (``FOR UPDATE SKIP LOCKED``) the
store borrows. The measuring process applies its schema in a fresh schema of the server, defers
every job, has the tables analysed (left unanalysed, the planner sorts every waiting job on each
fetch), starts the worker processes (``python -m bench.peers.procrastinate_processes URL``, each
``App.run_worker_async(concurrency=1)``, as ``procrastinate worker`` runs it), waits until all are
connected, opens the gate and times until no job is waiting or running.

The task is ``async def``, procrastinate's own kind: a plain function would be run on a thread
of the event loop's executor, one hand-over more per job. A failing task has ``retry=2``:
procrastinate counts retries after the first run, so that is three runs, as ``max_retries=3``
in jobqueue_lab. The retry is immediate (no wait), and an idle worker looks for work every
10 ms, as the Huey consumer does at most.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import procrastinate
import psycopg

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
"""Seconds between an idle worker's looks for jobs (procrastinate's default is 5 s, relying on
LISTEN/NOTIFY; a job put back for a retry is not announced)."""

DEFER_BATCH = 1_000

UNSETTLED = """SELECT EXISTS (
    SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))"""


def make_app(url: str) -> procrastinate.App:
    """The application, with its two tasks: one that never retries and one that retries twice."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    async def work(fails: bool) -> None:
        if fails:
            raise RuntimeError("flaky jobs always fail")

    app.task(name="steady")(work)
    app.task(name="flaky", retry=RUNS_PER_JOB - 1)(work)
    return app


def run(
    database: str,
    jobs: int,
    processes: int,
    failing: bool,
    watch: Callable[[], AbstractContextManager] = nullcontext,
) -> Measured:
    """Defer ``jobs`` jobs, half of them failing if ``failing``, into a fresh schema on the
    server at ``database`` and time ``processes`` worker processes from the gate opening to
    every job settled; ``watch`` as in ``store_processes.run``."""
    with fresh_schema(database) as url:
        return _run(url, jobs, processes, failing, watch)


def _run(
    url: str,
    jobs: int,
    processes: int,
    failing: bool,
    watch: Callable[[], AbstractContextManager],
) -> Measured:
    app = make_app(url)
    with app.open():
        app.schema_manager.apply_schema()
        task = app.tasks["flaky" if failing else "steady"]
        for start in range(0, jobs, DEFER_BATCH):
            numbers = range(start, min(start + DEFER_BATCH, jobs))
            task.batch_defer(*({"fails": failing and job_fails(n)} for n in numbers))
    analyze(url)
    commands = [["-m", "bench.peers.procrastinate_processes", url] for _ in range(processes)]
    with psycopg.connect(url, autocommit=True) as db:

        def settled() -> bool:
            (waiting,) = db.execute(UNSETTLED).fetchone()
            return not waiting

        with GatedWorkers(commands) as workers, watch(), Section() as section:
            workers.open()
            done = settled_after(settled, SETTLED_POLL, TIMEOUT)
            if not done or not workers.alive():
                raise BenchmarkError(f"{jobs} jobs not settled in {TIMEOUT}s:\n{workers.logs()}")
        (completed,) = db.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        ).fetchone()
        (runs,) = db.execute(
            "SELECT count(*) FROM procrastinate_events WHERE type = 'started'"
        ).fetchone()
    check_outcome(jobs, completed, runs, failing=failing)
    return section.measured(runs)


async def worker(url: str) -> None:
    """One worker process: open the app, wait at the gate, work until SIGTERM."""
    logging.getLogger("procrastinate").setLevel(logging.CRITICAL)  # a traceback per failure
    app = make_app(url)
    async with app.open_async():
        await asyncio.to_thread(ready_then_wait)
        await app.run_worker_async(
            concurrency=1,
            wait=True,
            fetch_job_polling_interval=IDLE_POLL,
            delete_jobs="never",
        )


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1]))
