"""The vocabulary of the course: job statuses, the transition table, and the job snapshot.

Everything else in the package builds on these few names. The rule that decides which status
changes are legal lives in exactly one place, ``TRANSITIONS``, so a learner can print it and the
store, the checker and the state-machine chart all read the same table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, make_dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class JobStatus(StrEnum):
    """Where a job is in its life. ``failed`` is a state like any other, not an accident."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


PENDING = JobStatus.PENDING
PROCESSING = JobStatus.PROCESSING
COMPLETED = JobStatus.COMPLETED
FAILED = JobStatus.FAILED

TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = MappingProxyType(
    {
        PENDING: frozenset({PROCESSING}),
        PROCESSING: frozenset({COMPLETED, FAILED}),
        COMPLETED: frozenset(),
        FAILED: frozenset({PENDING}),
    }
)
"""The whole state machine: for each status, the statuses a job may move to next.

``completed`` is final. ``failed`` may go back to ``pending``, and only the retry step does that.
"""

RELEASE: tuple[JobStatus, JobStatus] = (PROCESSING, PENDING)
"""The one recovery move outside the table: a worker that stops gives its job back.

Only the worker holding the job's current claim may make it, and the attempt it had started is
not counted. The four moves above are the whole life of a job; this one exists so that shutting
a worker down never fails a job that did nothing wrong (notebook 09).
"""


_NOWHERE: frozenset[JobStatus] = frozenset()


def can_transition(
    from_status: JobStatus, to_status: JobStatus, *, releasing: bool = False
) -> bool:
    """Return True when the table allows a job to move from ``from_status`` to ``to_status``;
    with ``releasing=True``, the release move is allowed too."""
    if to_status in TRANSITIONS.get(from_status, _NOWHERE):
        return True
    return releasing and (from_status, to_status) == RELEASE


def statuses_that_may_become(status: JobStatus) -> frozenset[JobStatus]:
    """Every status the table lets a job leave for ``status``: ``{PENDING}`` for processing.
    The SQL stores build their conditions from this, so the table rules them too."""
    return frozenset(source for source, targets in TRANSITIONS.items() if status in targets)


def may_retry(status: JobStatus, attempts: int, max_retries: int, permanent: bool = False) -> bool:
    """The retry rule, the one place it is written: a failed job may run again while it has
    attempts left, unless its failure was permanent. The store, the sweeper, the checker and the
    tables all ask this function."""
    return status is FAILED and not permanent and attempts < max_retries


def lease_expired(lease_expires_at: float | None, now: float) -> bool:
    """The lease rule, the one place it is written: a claim whose deadline has come (or gone)
    without a heartbeat has lost its job. The stores, the checker and the charts ask this."""
    return lease_expires_at is not None and lease_expires_at <= now


def parse_status(status: JobStatus | str) -> JobStatus:
    """Accept a ``JobStatus`` or its string value; refuse anything else with a helpful message."""
    if isinstance(status, JobStatus):
        return status
    if isinstance(status, str):
        try:
            return JobStatus(status)
        except ValueError:
            pass
    valid = ", ".join(repr(s.value) for s in JobStatus)
    raise ValueError(f"unknown job status {status!r}: expected one of {valid}")


def freeze_payload(payload: Any) -> Any:
    """Return a read-only deep copy of a JSON-compatible value.

    Dicts become read-only mappings and lists become tuples, so nobody holding a ``Job`` can
    reach back into the store and change a payload behind the lock.
    """
    if isinstance(payload, Mapping):
        return MappingProxyType({key: freeze_payload(value) for key, value in payload.items()})
    if isinstance(payload, (list, tuple)):
        return tuple(freeze_payload(item) for item in payload)
    return payload


def thaw_payload(payload: Any) -> Any:
    """Return an ordinary, mutable deep copy of a frozen payload (dicts and lists again)."""
    if isinstance(payload, Mapping):
        return {key: thaw_payload(value) for key, value in payload.items()}
    if isinstance(payload, tuple):
        return [thaw_payload(item) for item in payload]
    return payload


EMPTY_PAYLOAD: Mapping[str, Any] = MappingProxyType({})


_KEEP: Any = object()
"""The default of ``Job.changed``'s arguments: "keep this field as it is"."""

CHANGEABLE = frozenset(
    {
        "status",
        "attempts",
        "last_error",
        "claim",
        "claimed_by",
        "lease_expires_at",
        "lease_seconds",
        "retry_at",
        "permanent",
    }
)
"""The fields of a ``Job`` that a store changes; the rest stay as the job was created."""


@dataclass(frozen=True, slots=True)
class Job:
    """An immutable snapshot of one job, as the store saw it at one moment.

    The store hands out snapshots and never the record it keeps, the way a Go store returns a
    copy of a struct. To change a job you ask the store; changing a snapshot is impossible.

    ``last_error`` is ``None`` when there is no error to report. An empty string is never used,
    because "no error" and "an error with no words" must not look alike.
    ``max_retries`` is the most attempts the job may have in total: 3 means at most 3 runs.

    The last six fields are about claims (notebook 09). ``claim`` numbers the job's claims, 1,
    2, 3, ..., and never repeats: a worker reports with the claim it holds, and a report from
    any other claim is refused. ``claimed_by`` names the worker of the latest claim, and
    ``lease_expires_at`` is when the job counts as lost unless that worker sends a heartbeat
    (``lease_seconds`` after the claim or the latest heartbeat).
    ``retry_at`` is the earliest time a failed job may be retried; ``permanent`` marks a failure
    that must never be retried. Times are in the store's clock, and are left out of the repr.
    """

    id: str
    type: str
    status: JobStatus
    payload: Mapping[str, Any] = field(default_factory=lambda: EMPTY_PAYLOAD, hash=False)
    max_retries: int = 3
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime | None = field(default=None, repr=False)
    claim: int = 0
    claimed_by: str | None = field(default=None, repr=False)
    lease_expires_at: float | None = field(default=None, repr=False)
    lease_seconds: float | None = field(default=None, repr=False)
    retry_at: float | None = field(default=None, repr=False)
    permanent: bool = field(default=False, repr=False)

    @property
    def can_retry(self) -> bool:
        """True when the job has failed and may run again (see ``may_retry``)."""
        return may_retry(self.status, self.attempts, self.max_retries, self.permanent)

    @property
    def is_dead(self) -> bool:
        """True when the job failed for good: permanently, or with no attempts left. Such jobs
        make up the dead-letter view; only a deliberate ``requeue`` brings one back."""
        return self.status is FAILED and not self.can_retry

    @property
    def is_settled(self) -> bool:
        """True when nothing more will happen to the job: completed, or failed for good."""
        return self.status is COMPLETED or (self.status is FAILED and not self.can_retry)

    @classmethod
    def new(
        cls,
        job_id: str,
        type: str,
        payload: Mapping[str, Any],
        max_retries: int,
        created_at: datetime,
    ) -> Job:
        """The first snapshot of a job: pending, no attempt made, never claimed. Built the way
        ``changed`` builds the next ones, and for the same reason."""
        new = _Draft(
            job_id, type, PENDING, payload, max_retries, 0, None, created_at, 0, None, None, None,
            None, False,
        )  # fmt: skip
        new.__class__ = Job
        return new

    def changed(
        self,
        *,
        status: JobStatus = _KEEP,
        attempts: int = _KEEP,
        last_error: str | None = _KEEP,
        claim: int = _KEEP,
        claimed_by: str | None = _KEEP,
        lease_expires_at: float | None = _KEEP,
        lease_seconds: float | None = _KEEP,
        retry_at: float | None = _KEEP,
        permanent: bool = _KEEP,
    ) -> Job:
        """A new snapshot: this one with the fields given changed, the rest kept.

        It makes what ``dataclasses.replace`` makes, for the fields a store ever changes (the
        others are the job's for life), and a test checks that the two always agree. It is
        written for speed, on purpose, the one place in the package that is: every change of
        every job makes a snapshot, and a frozen dataclass sets each field through
        ``object.__setattr__``, eight times the cost of a plain assignment. So the snapshot is
        filled in as a ``_Draft`` (the same fields in the same slots, not frozen) and then
        becomes a ``Job``, as frozen as any other from that moment (README, benchmarks).
        """
        new = _Draft(
            self.id,
            self.type,
            self.status if status is _KEEP else status,
            self.payload,
            self.max_retries,
            self.attempts if attempts is _KEEP else attempts,
            self.last_error if last_error is _KEEP else last_error,
            self.created_at,
            self.claim if claim is _KEEP else claim,
            self.claimed_by if claimed_by is _KEEP else claimed_by,
            self.lease_expires_at if lease_expires_at is _KEEP else lease_expires_at,
            self.lease_seconds if lease_seconds is _KEEP else lease_seconds,
            self.retry_at if retry_at is _KEEP else retry_at,
            self.permanent if permanent is _KEEP else permanent,
        )
        new.__class__ = Job
        return new

    def payload_json(self) -> str:
        """The payload as canonical JSON text (sorted keys), handy for matching and display."""
        return json.dumps(thaw_payload(self.payload), sort_keys=True)


_Draft = make_dataclass("_Draft", [each.name for each in fields(Job)], slots=True)
"""``Job``'s fields, in the same slots, without the freeze: see ``Job.changed``."""
