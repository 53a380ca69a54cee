"""Filling a store through its public API, the way a run would."""

from __future__ import annotations

from jobqueue_lab import InMemoryJobStore, Job, JobStatus

MANY_RETRIES = 1_000_000
"""Attempts allowed to the failing jobs of the scaling benchmark, so they can fail every round."""
COMPLETED = JobStatus.COMPLETED
FAILED = JobStatus.FAILED


def add_completed_jobs(store: InMemoryJobStore, count: int) -> Job | None:
    """Create, claim and complete ``count`` jobs, one after another; return the last one."""
    job = None
    for _ in range(count):
        created = store.create_job("done")
        store.claim_job(created.id)
        job = store.update_status(created.id, COMPLETED)
    return job


def add_failed_jobs(store: InMemoryJobStore, count: int) -> list[str]:
    """Create ``count`` jobs that fail their first attempt and may be retried many times."""
    ids = [store.create_job("flaky", max_retries=MANY_RETRIES).id for _ in range(count)]
    fail_again(store, ids)
    return ids


def fail_again(store: InMemoryJobStore, job_ids: list[str]) -> None:
    """Claim each pending job and report it failed, as a worker would."""
    for job_id in job_ids:
        store.claim_job(job_id)
        store.update_status(job_id, FAILED, "simulated failure")
