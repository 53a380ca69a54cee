"""No retry limit: the sweeper's retry step sends every failed job back, however often it failed."""

from __future__ import annotations

from dataclasses import replace

from ..domain import FAILED, PENDING, Job
from .baseline import PlainStore


class NoRetryLimitStore(PlainStore):
    """No retry limit: the retry step the sweeper runs sends *every* failed job back to pending.

    Without the ``attempts < max_retries`` check a job that can never succeed is retried on
    every sweep, forever. Correct counterpart: ``PlainStore.retry_failed_jobs``, which this copies,
    and ``JobStore.retry_failed_jobs`` of the real store (called by ``Sweeper.sweep_once``):
    both retry only jobs with attempts left.
    """

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        # A deliberate copy of PlainStore.retry_failed_jobs, to read beside it: `job.can_retry`
        # (failed, with attempts left) became `job.status is FAILED`.
        with self._lock:
            retried = [
                replace(job, status=PENDING) for job in self._jobs.values() if job.status is FAILED
            ]
            self._jobs.update((job.id, job) for job in retried)
            return retried
