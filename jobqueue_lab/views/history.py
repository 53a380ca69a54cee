"""A job's history, rebuilt from the audit log alone: its attempts, each with who ran it, when,
the lease it was granted and how it ended. The tables and the timelines are drawn from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..audit import Transition, is_lease_expiry
from ..domain import JobStatus

IN_PROGRESS = "in progress"
"""The outcome of an attempt whose worker has not signalled yet."""

RELEASED = "released"
"""The outcome of an attempt whose worker gave the job back as it stopped (the release move)."""

@dataclass
class Attempt:
    """One attempt of one job: who ran it, from when to when (seconds on the store's clock
    since it was made), the lease its claim was granted, and how it ended."""

    job_id: str
    number: int
    worker: str
    started: float
    lease: float | None
    finished: float | None = None
    outcome: str = IN_PROGRESS
    error: str | None = None
    lease_expired: bool = False


def attempts_in(log: Iterable[Transition]) -> list[Attempt]:
    """Pair each accepted claim with the change that ended it: the outcome its worker
    signalled, the sweeper's recovery of an expired lease, or a release."""
    by_job: dict[str, list[Attempt]] = {}
    running: dict[str, Attempt] = {}
    for entry in log:
        if not entry.accepted:
            continue
        attempts = by_job.setdefault(entry.job_id, [])
        if entry.to_status is JobStatus.PROCESSING:
            attempt = Attempt(
                entry.job_id, len(attempts) + 1, entry.actor, entry.at, entry.lease_seconds
            )
            attempts.append(attempt)
            running[entry.job_id] = attempt
        elif entry.from_status is JobStatus.PROCESSING:
            attempt = running.pop(entry.job_id, None)
            if attempt is not None:
                attempt.finished = entry.at
                if entry.to_status is JobStatus.PENDING:
                    attempt.outcome = RELEASED
                else:
                    attempt.outcome = entry.to_status.value
                    attempt.error = entry.detail
                    attempt.lease_expired = is_lease_expiry(entry)
    return [attempt for attempts in by_job.values() for attempt in attempts]
