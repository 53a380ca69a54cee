"""What every store decides, written once: may a change go ahead (and if not, why not), and
what does the job look like after it?

These are pure functions of a job snapshot and a request. ``InMemoryJobStore`` calls them under
its lock, the SQL stores inside a database transaction, so all of them refuse the same requests
with the same words and change jobs the same way. Only the lock differs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from .backoff import MAX_DELAY, BackoffPolicy
from .domain import FAILED, PENDING, PROCESSING, Job, JobStatus, can_transition, may_retry
from .errors import StaleClaim
from .validation import check_int, check_number

log = logging.getLogger(__name__)

MAX_LEASE = 86_400.0
"""The longest lease accepted, in seconds: a day."""


def next_snapshot(
    job: Job,
    status: JobStatus,
    *,
    attempts: int | None = None,
    last_error: str | None = None,
    claim: int | None = None,
    claimed_by: str | None = None,
    lease_expires_at: float | None = None,
    retry_at: float | None = None,
    permanent: bool = False,
) -> Job:
    """The job's next snapshot: ``status`` and the given fields changed, the rest kept, except
    that a lease, a retry time and a permanent mark never carry over to the next status."""
    # All fields in one positional call: this runs on every change of every job, and
    # ``dataclasses.replace`` takes twice as long.
    return Job(
        job.id,
        job.type,
        status,
        job.payload,
        job.max_retries,
        job.attempts if attempts is None else attempts,
        job.last_error if last_error is None else last_error,
        job.created_at,
        job.claim if claim is None else claim,
        job.claimed_by if claimed_by is None else claimed_by,
        lease_expires_at,
        retry_at,
        permanent,
    )


def stale_claim(job: Job, to_status: JobStatus, claim: int | None) -> StaleClaim | None:
    """The refusal for a report made under a claim that no longer holds the job, if it is one."""
    if claim is None or (job.status is PROCESSING and job.claim == claim):
        return None
    return StaleClaim(job.id, job.status, to_status, claim, job.claim)


def refusal(job: Job, to_status: JobStatus, last_error: str | None) -> str | None:
    """Why the store must refuse this change, or ``None`` when it may go ahead."""
    if not can_transition(job.status, to_status):
        return f"{job.status.value} -> {to_status.value} is not in the transition table"
    if to_status is FAILED and not (last_error and last_error.strip()):
        return "a failed job needs a last_error that says why it failed"
    if to_status is not FAILED and last_error is not None:
        return f"last_error is only given when a job fails, not when it becomes {to_status.value}"
    if to_status is PENDING and job.permanent:
        return "the job failed permanently: only requeue() brings it back"
    if to_status is PENDING and not job.can_retry:
        return f"no attempts left ({job.attempts} of {job.max_retries} used)"
    return None


def check_claim(claim: object, *, required: bool = False) -> None:
    """A claim number (an int from 1), or ``None`` where the claim is optional."""
    if claim is None and not required:
        return
    check_int(claim, "claim", minimum=1)


def checked_lease(lease_seconds: object) -> float:
    """A lease length in seconds: more than 0, at most ``MAX_LEASE``."""
    lease = check_number(lease_seconds, "lease_seconds", minimum=0, maximum=MAX_LEASE)
    if lease == 0:
        raise ValueError("lease_seconds must be more than 0")
    return lease


def retry_delay(backoff: BackoffPolicy, job: Job) -> float | None:
    """Ask the backoff policy how long ``job`` waits after failing the attempt it is on
    (``None`` when it will not be retried anyway).

    A policy that raises or answers nonsense must not leave the job stuck in processing:
    the failure is recorded all the same, with no delay, and the log says why.
    """
    if not may_retry(FAILED, job.attempts, job.max_retries):
        return None
    try:
        delay = backoff(job)
        return check_number(delay, "the backoff delay", minimum=0, maximum=MAX_DELAY)
    except Exception:
        log.warning(
            "the backoff policy failed for %s; retrying without delay", job.id, exc_info=True
        )
        return 0.0


def read_clock(clock: Callable[[], float]) -> float:
    """A reading of a store's clock, refused unless it is a finite number: a time that cannot
    be compared would break every lease and retry time it went into."""
    at = clock()
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        raise TypeError(f"the store's clock must return a number, got {type(at).__name__}")
    if not math.isfinite(at):
        raise ValueError(f"the store's clock must return a finite number, got {at!r}")
    return at
