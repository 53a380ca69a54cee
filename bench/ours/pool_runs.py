"""jobqueue_lab's ``WorkerPool``, timed from start to stop.

Each run times the whole life of a pool: start the workers and the sweeper, submit every job,
wait until every job is settled, stop. The handler counts its runs, and the run is checked
through the store before its time counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from jobqueue_lab import InMemoryJobStore, Job, WorkerPool, fail_by_type, simulated_work

from ..harness.jobs import RUNS_PER_JOB, TIMEOUT, WORKERS, BenchmarkError, check_outcome, job_fails
from ..harness.timing import Measured, Section


def counting(handler: Callable[[Job], object]) -> tuple[Callable[[Job], object], Callable[[], int]]:
    """Wrap ``handler`` so each run is counted; return it with a function reading the count.

    ``next`` on an ``itertools.count`` is one C call, safe from any thread under the GIL.
    """
    runs = itertools.count()

    def counted(job: Job) -> object:
        next(runs)
        return handler(job)

    return counted, lambda: next(runs)


def noop(jobs: int, workers: int = WORKERS) -> Measured:
    """No-op jobs through a pool with default sweeper and queue, audit log on."""
    return _run(jobs, failing=False, workers=workers)


def failure_path(jobs: int) -> Measured:
    """Every other job is of type ``flaky``, which fails all three of its attempts.

    The sweeper interval is 0 (retry as soon as sensible), as Huey re-enqueues a failed task
    at once.
    """
    return _run(jobs, failing=True, workers=WORKERS)


def _run(jobs: int, *, failing: bool, workers: int) -> Measured:
    fail = fail_by_type("flaky") if failing else None
    handler, runs = counting(simulated_work(fail=fail))
    options: dict[str, Any] = {"sweeper_interval": 0} if failing else {}
    store = InMemoryJobStore()
    with (
        Section() as section,
        WorkerPool(store, workers=workers, handler=handler, **options) as pool,
    ):
        for number in range(jobs):
            job_type = "flaky" if failing and job_fails(number) else "steady"
            pool.submit(job_type, max_retries=RUNS_PER_JOB)
        settled = pool.wait(TIMEOUT)
    if not settled:
        raise BenchmarkError(f"the pool did not settle {jobs} jobs in {TIMEOUT}s")
    failed = store.get_failed_jobs()
    if store.pending_ids() or any(job.attempts != RUNS_PER_JOB for job in failed):
        raise BenchmarkError("jobs left pending, or failed before their last attempt")
    # Settled means every job is completed or failed for good.
    done = runs()
    check_outcome(jobs, jobs - len(failed), done, failing=failing)
    return section.measured(done)
