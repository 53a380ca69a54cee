"""The errors the store raises. Each one carries the facts a caller needs to react."""

from __future__ import annotations

from .domain import TRANSITIONS, JobStatus


class JobQueueError(Exception):
    """Base class for every error this package raises on purpose."""


class JobNotFound(JobQueueError, KeyError):
    """No job has this id. A ``KeyError`` too, so ``except KeyError`` also catches it."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"no job with id {self.job_id!r}"


class InvalidTransition(JobQueueError, ValueError):
    """The transition table does not allow this change, so the store refused it."""

    def __init__(self, job_id: str, from_status: JobStatus, to_status: JobStatus) -> None:
        super().__init__(job_id, from_status, to_status)
        self.job_id = job_id
        self.from_status = from_status
        self.to_status = to_status

    def __str__(self) -> str:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[self.from_status])) or "nothing"
        return (
            f"job {self.job_id!r} cannot move from {self.from_status.value!r} to "
            f"{self.to_status.value!r}: from {self.from_status.value!r} it may move to {allowed}"
        )
