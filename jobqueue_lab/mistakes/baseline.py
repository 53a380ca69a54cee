"""The correct baseline the broken variants are measured against: nothing here is a mistake.

``PlainStore`` is the chapter's Go store in Python, and the seed's broken stores (notebook 07)
copy one of its methods each and get that one thing wrong, so the two read side by side show the
mistake. The store the notebooks teach with is ``InMemoryJobStore``, which keeps the same rules
and adds what later chapters need (the audit log, leases, fencing); its methods are written for
every store at once, which would make a copy to break longer than the mistake it shows. The
broken stores of notebooks 09 and 12 copy the real store's methods instead. ``error_lines``
reads ``last_error`` the safe way (mistake 4's counterpart).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from ..checks import JobLike
from ..domain import FAILED, PENDING, PROCESSING, Job, JobStatus, can_transition, parse_status
from ..errors import InvalidTransition, JobNotFound
from ..stores.contract import JobStore
from ..stores.memory import sequential_ids
from ..validation import checked_payload


class PlainStore:
    """A store cut down to the chapter's Go store: frozen snapshots in a dict, and one lock.

    Like ``InMemoryJobStore`` it checks the transition table, saves each change once, and
    retries failed jobs within their limit. It keeps no audit log, and, like the chapter's
    store, it does not insist that a failure says why. It has no leases or fencing either (those
    come in notebook 09): it takes the keywords a ``Worker`` passes for them and ignores them.
    """

    lease_seconds = math.inf  # no leases: a claim never runs out

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new_id = sequential_ids()
        self._jobs: dict[str, Job] = {}

    def create_job(
        self, type: str, payload: Mapping[str, Any] | None = None, *, max_retries: int = 3
    ) -> Job:
        frozen = checked_payload(payload or {})
        with self._lock:
            job = Job(self._new_id(), type, PENDING, frozen, max_retries=max_retries)
            self._jobs[job.id] = job
            return job

    def get_job(self, job_id: str) -> Job:
        with self._lock:
            return self._get(job_id)

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        wanted = None if status is None else parse_status(status)
        with self._lock:
            return [job for job in self._jobs.values() if wanted is None or job.status is wanted]

    def get_pending_jobs(self) -> list[Job]:
        return self.list_jobs(PENDING)

    def pending_ids(self, limit: int | None = None) -> list[str]:
        return [job.id for job in self.list_jobs(PENDING)][:limit]

    def get_failed_jobs(self) -> list[Job]:
        return self.list_jobs(FAILED)

    def claim_job(self, job_id: str, **_lease: object) -> Job | None:
        """Pending -> processing, counting the attempt; ``None`` if the job is not pending."""
        with self._lock:
            job = self._get(job_id)
            if job.status is not PENDING:
                return None
            claimed = replace(job, status=PROCESSING, attempts=job.attempts + 1)
            self._jobs[job_id] = claimed
            return claimed

    def update_status(
        self, job_id: str, status: JobStatus | str, last_error: str | None = None, **_claim: object
    ) -> Job:
        """Check the table, set status and error together, then save once."""
        to_status = parse_status(status)
        with self._lock:
            job = self._get(job_id)
            if not can_transition(job.status, to_status):
                raise InvalidTransition(job_id, job.status, to_status)
            updated = replace(job, status=to_status, last_error=last_error or job.last_error)
            self._jobs[job_id] = updated
            return updated

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Failed jobs with attempts left go back to pending (``actor`` is ignored: no log)."""
        with self._lock:
            retried = [replace(job, status=PENDING) for job in self._jobs.values() if job.can_retry]
            self._jobs.update((job.id, job) for job in retried)
            return retried

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        """Nothing to recover: without leases, a lost worker's job stays processing."""
        return []

    def renew_lease(self, job_id: str, claim: int, **_lease: object) -> Job:
        """A heartbeat has nothing to renew."""
        return self.get_job(job_id)

    def release_job(self, job_id: str, claim: int, **_actor: object) -> Job:
        """Back to pending, the attempt not counted, whoever asks."""
        with self._lock:
            job = self._get(job_id)
            released = replace(job, status=PENDING, attempts=job.attempts - 1)
            self._jobs[job_id] = released
            return released

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise JobNotFound(job_id) from None


# It has every method of the contract, so the real pool, workers and sweeper run on it; it keeps
# the seed's promises only, not the audit log's or the leases'.
JobStore.register(PlainStore)


def error_lines(jobs: Iterable[JobLike]) -> Iterator[str]:
    """One line per job with the first line of its error, or "no error" when it has none."""
    for job in jobs:
        reason = "no error" if job.last_error is None else job.last_error.splitlines()[0]
        yield f"{job.id}: {reason}"
