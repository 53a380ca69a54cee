"""The store on one thread: create, claim and complete, job after job.

No threads and no queue, so this is the cost of the store's own work per job: checks,
snapshots, the transition table, the audit log and the lock.
"""

from __future__ import annotations

from jobqueue_lab import InMemoryJobStore

from ..diagnostics.breakdown import StepTimes, time_steps
from ..harness.jobs import BenchmarkError
from ..harness.timing import Measured, Section
from .workload import COMPLETED, add_completed_jobs


def cycles(count: int) -> Measured:
    """``count`` create-claim-complete cycles through ``InMemoryJobStore``."""
    store = InMemoryJobStore()
    with Section() as section:
        last = add_completed_jobs(store, count)
    if last is None or last.status is not COMPLETED or store.pending_ids():
        raise BenchmarkError("the store did not complete every job")
    return section.measured(count)


def steps(jobs: int) -> StepTimes:
    """Microseconds per ``create_job``, ``claim_job`` and ``update_status(completed)``."""
    store = InMemoryJobStore()
    return time_steps(
        lambda: store.create_job("done").id,
        store.claim_job,
        lambda job_id: store.update_status(job_id, COMPLETED),
        jobs,
    )
