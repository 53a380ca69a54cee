"""What every store of the package shares: reads derived from ``list_jobs``, and the rules for
the store's clock, leases, backoff and fencing, applied the same way whatever keeps the jobs.

A store subclasses ``BaseJobStore`` and keeps the state itself (``InMemoryJobStore`` in a dict,
the SQL stores in a database). It sets ``_clock``, ``_backoff`` and ``lease_seconds``, and
provides ``list_jobs`` and ``get_job``; everything here is built on those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .backoff import BackoffPolicy
from .decisions import checked_lease, read_clock, retry_delay, stale_claim
from .domain import FAILED, PENDING, PROCESSING, Job, JobStatus
from .errors import StaleClaim


class BaseJobStore:
    """The parts of the ``JobStore`` contract that every store fulfils in the same way."""

    lease_seconds: float
    _clock: Callable[[], float]
    _backoff: BackoffPolicy

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        raise NotImplementedError

    def get_job(self, job_id: str) -> Job:
        raise NotImplementedError

    def get_pending_jobs(self) -> list[Job]:
        """Jobs waiting for a worker, oldest first."""
        return self.list_jobs(PENDING)

    def get_processing_jobs(self) -> list[Job]:
        """Jobs a worker holds right now, oldest first."""
        return self.list_jobs(PROCESSING)

    def get_failed_jobs(self) -> list[Job]:
        """Jobs whose last attempt failed, oldest first, each with its ``last_error``."""
        return self.list_jobs(FAILED)

    def get_dead_jobs(self) -> list[Job]:
        """The dead-letter view: jobs failed for good, oldest first, each with its last error."""
        return [job for job in self.list_jobs(FAILED) if job.is_dead]

    def now(self) -> float:
        """The store's clock: the time that leases and ``retry_at`` are measured in."""
        return self._now()

    def __iter__(self) -> Iterator[Job]:
        return iter(self.list_jobs())

    # --- the shared rules, called by the writes ---------------------------------------------

    def _now(self) -> float:
        return read_clock(self._clock)

    def _retry_delay(self, job: Job | str) -> float | None:
        if isinstance(job, str):
            job = self.get_job(job)
        return retry_delay(self._backoff, job)

    def _lease(self, lease_seconds: float | None) -> float:
        return self.lease_seconds if lease_seconds is None else checked_lease(lease_seconds)

    def _fence(self, job: Job, to_status: JobStatus, claim: int | None) -> StaleClaim | None:
        """Fencing: the refusal of a report made under a claim that no longer holds the job."""
        return stale_claim(job, to_status, claim)
