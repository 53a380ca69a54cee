"""Mistake 3: the store saves the job, then sets ``last_error`` on a copy nobody saves."""

from __future__ import annotations

from dataclasses import replace

from ..domain import Job, JobStatus, can_transition, parse_status
from ..errors import InvalidTransition
from .baseline import PlainStore


class SaveTooEarlyStore(PlainStore):
    """Mistake 3: ``update_status`` saves the job, then sets ``last_error`` on a copy nobody saves.

    The caller even gets that copy back, error and all, and believes the failure was recorded;
    the stored job says "failed" and nothing more. Correct counterpart:
    ``PlainStore.update_status``, which this copies: it sets every field first and saves once,
    as the real store's ``JobStore.update_status`` does with one new snapshot.
    """

    def update_status(
        self, job_id: str, status: JobStatus | str, last_error: str | None = None, **_claim: object
    ) -> Job:
        # A deliberate copy of PlainStore.update_status, to read beside it: only the save moved.
        to_status = parse_status(status)
        with self._lock:
            job = self._get(job_id)
            if not can_transition(job.status, to_status):
                raise InvalidTransition(job_id, job.status, to_status)
            job = replace(job, status=to_status)
            self._jobs[job_id] = job
            if last_error is not None:
                job = replace(job, last_error=last_error)  # set after the save: never stored
            return job
