"""Atomic updates, missing: the store claims a job with a read, a decision and a write, unlocked."""

from __future__ import annotations

from dataclasses import replace

from ..domain import PENDING, PROCESSING, Job
from .baseline import PlainStore
from .hooks import Hook, carry_on


class UnlockedStore(PlainStore):
    """Atomic updates, missing: ``claim_job`` reads, decides and writes without taking the lock.

    Two workers claiming one job can both read "pending, 0 attempts", both decide the job is
    theirs, and both write "processing, 1 attempt". The job runs twice and one attempt is lost,
    because the second write replaces the first instead of adding to it. ``race_window`` is
    called between the read and the write. Correct counterpart: ``PlainStore.claim_job``,
    which this copies: it reads, decides and writes under one lock, so a second claim cannot
    start in between (as ``JobStore.claim_job`` does in the real store).
    """

    def __init__(self, *, race_window: Hook = carry_on) -> None:
        super().__init__()
        self._race_window = race_window

    def claim_job(self, job_id: str, **_lease: object) -> Job | None:
        # A deliberate copy of PlainStore.claim_job, to read beside it: no `with self._lock:`.
        job = self._get(job_id)
        if job.status is not PENDING:
            return None
        self._race_window(job)
        claimed = replace(job, status=PROCESSING, attempts=job.attempts + 1)
        self._jobs[job_id] = claimed
        return claimed
