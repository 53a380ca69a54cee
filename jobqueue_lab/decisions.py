"""What every store decides, written once: may a request go ahead, and if not, which refusal;
if so, what the job looks like after it.

Each ``decide_*`` function is pure: it reads a job snapshot and a request and returns a
``Decision``. A store takes its lock (or opens a transaction), reads the job, asks one of these
functions, saves what it says, and returns or raises what it says. The in-memory store and the
SQL stores all ask the same functions, so they refuse the same requests with the same words and
change jobs the same way: only how they lock, read and save differs. The rules themselves
(the transition table, ``may_retry``, ``lease_expired``) come from ``domain``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from .audit import LEASE_EXPIRED, REQUEUED
from .backoff import MAX_DELAY, BackoffPolicy
from .domain import (
    FAILED,
    PENDING,
    PROCESSING,
    RELEASE,
    Job,
    JobStatus,
    can_transition,
    lease_expired,
    may_retry,
    parse_status,
)
from .errors import InvalidTransition, StaleClaim, stale_claim_reason
from .validation import check_int, check_number

log = logging.getLogger(__name__)

MAX_LEASE = 86_400.0
"""The longest lease accepted, in seconds: a day."""


@dataclass(slots=True)
class Decision:
    """A store's answer to one request about one job, before anything is saved.

    ``after`` is the job's next snapshot when the change goes ahead, ``None`` when it is
    refused, and then ``refusal`` is the error the caller gets. ``detail`` and ``claim`` go
    into the audit entry; a renewed lease changes no status and is not audited. ``new`` marks
    a job's creation, which has no status before it. (Not frozen: a decision lives for one
    change, inside the lock, where a frozen dataclass's slower construction would be felt.)
    """

    job: Job
    to_status: JobStatus
    after: Job | None = None
    detail: str | None = None
    claim: int | None = None
    refusal: Exception | None = None
    audited: bool = True
    new: bool = False

    def entry(self, at: float, actor: str) -> tuple:
        """The audit entry of this decision, made at clock time ``at`` by ``actor``: the
        fields of a ``Transition``, in order, as a plain tuple (the stores keep many)."""
        before, after = self.job, self.after
        from_status = None if self.new else before.status
        lease = after.lease_seconds if after is not None and after.status is PROCESSING else None
        accepted = after is not None
        return (
            at, before.id, from_status, self.to_status, accepted, actor, self.detail, self.claim,
            lease,
        )

    def result(self) -> Job:
        """The job after the change; raises the refusal if there was one."""
        if self.after is None:
            raise self.refusal or RuntimeError("a refused decision carries its refusal")
        return self.after


def refused(
    job: Job,
    to_status: JobStatus,
    reason: str,
    error: Exception | None,
    claim: int | None = None,
) -> Decision:
    """A refusal: nothing changes but the audit log, which records ``reason``."""
    return Decision(job, to_status, detail=reason, claim=claim, refusal=error)


def created(job: Job) -> Decision:
    """A new job: always accepted, and audited as coming from nowhere."""
    return Decision(job, PENDING, job, new=True)


# --- claims -------------------------------------------------------------------------------


def decide_claim(job: Job, actor: str, at: float, lease: float) -> Decision:
    """Claim a job: processing, the attempt counted, the next claim number, a lease. Refused
    (with no error: a claim that loses the race just gets nothing) unless the table allows it."""
    if not can_transition(job.status, PROCESSING):
        return refused(job, PROCESSING, f"job is {job.status.value}, not pending", None)
    claimed = job.changed(
        status=PROCESSING,
        attempts=job.attempts + 1,
        claim=job.claim + 1,
        claimed_by=actor,
        lease_expires_at=at + lease,
        lease_seconds=lease,
        retry_at=None,
    )
    return Decision(job, PROCESSING, claimed, claim=claimed.claim)


def holds(job: Job, claim: int) -> bool:
    """True while ``claim`` is the claim the job is processing under: only then may its holder
    report, renew or release. This is fencing: any other claim number has lost the job."""
    return job.status is PROCESSING and job.claim == claim


def fenced(job: Job, to_status: JobStatus, claim: int) -> Decision:
    """The refusal of a request from a claim that no longer holds the job."""
    error = StaleClaim(job.id, job.status, to_status, claim, job.claim)
    return refused(job, to_status, stale_claim_reason(error), error, claim)


def decide_renewal(job: Job, claim: int, at: float, lease: float) -> Decision:
    """A heartbeat: the lease of ``claim`` runs ``lease`` seconds from ``at``."""
    if not holds(job, claim):
        return fenced(job, PROCESSING, claim)
    renewed = job.changed(lease_expires_at=at + lease, lease_seconds=lease)
    return Decision(job, PROCESSING, renewed, audited=False)


def decide_release(job: Job, claim: int, actor: str) -> Decision:
    """The ``RELEASE`` move, processing -> pending, made by the claim holder as it stops: the
    attempt it had started is not counted."""
    if (job.status, PENDING) != RELEASE or not holds(job, claim):
        return fenced(job, PENDING, claim)
    note = f"released by {actor}: attempt {job.attempts} not counted"
    return Decision(job, PENDING, back_to_pending(job, job.attempts - 1), note, claim)


def decide_expiry(job: Job, now: float, backoff: BackoffPolicy) -> Decision | None:
    """Fail a job whose lease ran out (``lease_expired``): its worker hung, died or lost touch.
    The attempt counts. ``None`` when the job is not processing or its lease still runs."""
    if job.status is not PROCESSING or not lease_expired(job.lease_expires_at, now):
        return None
    error = (
        f"{LEASE_EXPIRED} after {job.lease_seconds} s: {job.claimed_by} lost or stuck "
        f"on attempt {job.attempts}"
    )
    return Decision(job, FAILED, failed(job, error, False, now, backoff), error, job.claim)


# --- reports ------------------------------------------------------------------------------


class Report(NamedTuple):
    """A worker's signal about a job: the status it asks for, why it failed, under which
    claim, and whether retrying can help. Made by ``checked_report``, so it is well-formed."""

    status: JobStatus
    last_error: str | None = None
    claim: int | None = None
    permanent: bool = False


def checked_report(
    status: JobStatus | str, last_error: object, claim: object, permanent: object
) -> Report:
    """The arguments of ``update_status`` as a ``Report``, or a ``TypeError``/``ValueError``
    that names the one that is wrong."""
    to_status = parse_status(status)
    if last_error is not None and not isinstance(last_error, str):
        raise TypeError(f"last_error must be a str or None, got {type(last_error).__name__}")
    if claim is not None:
        check_int(claim, "claim", minimum=1)
    if not isinstance(permanent, bool):
        raise TypeError(f"permanent must be a bool, got {type(permanent).__name__}")
    if permanent and to_status is not FAILED:
        raise ValueError("permanent=True is only for a job that fails")
    return Report(to_status, last_error, claim, permanent)  # type: ignore[arg-type]


def decide_report(
    job: Job, report: Report, actor: str, at: float, lease: float, backoff: BackoffPolicy
) -> Decision:
    """``update_status``: a report under a claim that lost the job is fenced off; any other
    report is decided by ``decide_outcome``."""
    if report.claim is not None and not holds(job, report.claim):
        return fenced(job, report.status, report.claim)
    return decide_outcome(job, report, actor, at, lease, backoff)


def decide_outcome(
    job: Job, report: Report, actor: str, at: float, lease: float, backoff: BackoffPolicy
) -> Decision:
    """A report, fencing aside: the transition table first, then the rules for errors and
    retries; the first that forbids it says why."""
    to_status = report.status
    if not can_transition(job.status, to_status):
        reason = f"{job.status.value} -> {to_status.value} is not in the transition table"
        error = InvalidTransition(job.id, job.status, to_status)
        return refused(job, to_status, reason, error, report.claim)
    reason = broken_rule(job, report)
    if reason is not None:
        error = ValueError(f"job {job.id!r} not moved to {to_status.value!r}: {reason}")
        return refused(job, to_status, reason, error, report.claim)
    if to_status is PROCESSING:
        return decide_claim(job, actor, at, lease)
    claim = report.claim or job.claim or None
    if to_status is FAILED:
        after = failed(job, report.last_error, report.permanent, at, backoff)
        return Decision(job, FAILED, after, report.last_error, claim)
    if to_status is PENDING:
        return Decision(job, PENDING, back_to_pending(job, job.attempts), claim=claim)
    completed = job.changed(status=to_status, lease_expires_at=None, lease_seconds=None)
    return Decision(job, to_status, completed, claim=claim)


def broken_rule(job: Job, report: Report) -> str | None:
    """Why a report the table allows must still be refused, or ``None`` when it may go ahead."""
    to_status = report.status
    if to_status is FAILED and not (report.last_error and report.last_error.strip()):
        return "a failed job needs a last_error that says why it failed"
    if to_status is not FAILED and report.last_error is not None:
        return f"last_error is only given when a job fails, not when it becomes {to_status.value}"
    if to_status is PENDING and job.permanent:
        return "the job failed permanently: only requeue() brings it back"
    if to_status is PENDING and not job.can_retry:
        return f"no attempts left ({job.attempts} of {job.max_retries} used)"
    return None


def failed(job: Job, error: str, permanent: bool, at: float, backoff: BackoffPolicy) -> Job:
    """The job after failing: its error, and when it may be retried (if it may)."""
    delay = None if permanent else retry_delay(backoff, job)
    return job.changed(
        status=FAILED,
        last_error=error,
        lease_expires_at=None,
        lease_seconds=None,
        retry_at=None if delay is None else at + delay,
        permanent=permanent,
    )


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


# --- back to pending ----------------------------------------------------------------------


def back_to_pending(job: Job, attempts: int) -> Job:
    """The job waiting again, with ``attempts`` used and no lease, retry time or mark."""
    return job.changed(
        status=PENDING,
        attempts=attempts,
        lease_expires_at=None,
        lease_seconds=None,
        retry_at=None,
        permanent=False,
    )


def decide_retry(job: Job, now: float) -> Decision | None:
    """The sweeper's retry: a failed job that ``may_retry`` and whose ``retry_at`` has come
    goes back to pending, keeping its attempts and its ``last_error``; else ``None``."""
    if not job.can_retry or (job.retry_at is not None and job.retry_at > now):
        return None
    return Decision(job, PENDING, back_to_pending(job, job.attempts))


def decide_requeue(job: Job, actor: str) -> Decision:
    """An operator's deliberate requeue: only a dead job, given a fresh budget of attempts."""
    if not job.is_dead:
        reason = (
            f"only a dead job (failed for good) can be requeued; this one is {job.status.value}"
            + (" and will be retried by the sweeper" if job.can_retry else "")
        )
        return refused(job, PENDING, reason, ValueError(f"job {job.id!r} not requeued: {reason}"))
    note = f"{REQUEUED} by {actor}: a fresh budget of {job.max_retries} attempts"
    return Decision(job, PENDING, back_to_pending(job, 0), note)


# --- checking what a store is given -------------------------------------------------------


def checked_claim(claim: object) -> int:
    """A claim number: an int from 1."""
    return check_int(claim, "claim", minimum=1)


def checked_lease(lease_seconds: object) -> float:
    """A lease length in seconds: more than 0, at most ``MAX_LEASE``."""
    lease = check_number(lease_seconds, "lease_seconds", minimum=0, maximum=MAX_LEASE)
    if lease == 0:
        raise ValueError("lease_seconds must be more than 0")
    return lease


def read_clock(clock: Callable[[], float]) -> float:
    """A reading of a store's clock, refused unless it is a finite number: a time that cannot
    be compared would break every lease and retry time it went into."""
    at = clock()
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        raise TypeError(f"the store's clock must return a number, got {type(at).__name__}")
    if not math.isfinite(at):
        raise ValueError(f"the store's clock must return a finite number, got {at!r}")
    return at
