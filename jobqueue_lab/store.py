"""The in-memory job store: the only place where job state changes.

Workers and the sweeper never assign a field of a job. They *ask* the store for a change
("claim this job", "this job failed, because ..."), and the store checks the transition table
and applies the whole change under one lock, or refuses it and changes nothing. Every request,
accepted or refused, goes into the audit log. The promises are written down once, in
``contract.JobStore``; this class keeps them.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from .audit import AuditLog, Transition, as_transitions
from .domain import (
    COMPLETED,
    EMPTY_PAYLOAD,
    FAILED,
    PENDING,
    PROCESSING,
    Job,
    JobStatus,
    can_transition,
    parse_status,
)
from .errors import InvalidTransition, JobNotFound
from .validation import (
    check_actor,
    check_callable,
    check_int,
    check_job_type,
    check_limit,
    check_max_retries,
    check_timeout,
    checked_payload,
)


def sequential_ids(prefix: str = "job-", width: int = 3) -> Callable[[], str]:
    """Return an id factory giving ``job-001``, ``job-002``, ...: the same ids every run."""
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers):0{width}d}"


class InMemoryJobStore:
    """A thread-safe store of jobs, guarded by a single lock.

    Reads return immutable ``Job`` snapshots. Writes go through four methods, each of which
    validates and applies its change while holding the lock: ``create_job``, ``claim_job``,
    ``update_status`` and ``retry_failed_jobs``.

    ``id_factory`` and ``clock`` are called outside the lock, so they may even read the store.

    About ``max_retries``: here it is the most *attempts in total*, so ``max_retries=3`` means a
    job runs at most three times. Celery (``max_retries``), RQ (``Retry(max=...)``) and Huey
    (``retries``) count the retries *after* the first run instead, so there 3 means up to four
    runs. To get three runs from them, ask for 2.
    """

    def __init__(
        self,
        *,
        id_factory: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._new_id = sequential_ids() if id_factory is None else id_factory
        check_callable(self._new_id, "id_factory", "with no arguments, returning a str")
        self._clock = check_callable(clock, "clock", "with no arguments, returning seconds")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        # Per status: job id -> creation number, so filtered reads cost what they return,
        # not what the store holds, and can still be given back in creation order.
        self._ids_by_status: dict[JobStatus, dict[str, int]] = {s: {} for s in JobStatus}
        # The failed jobs that may still be retried: the sweeper's to-do list.
        self._retryable: dict[str, int] = {}
        self._audit = AuditLog(started=self._now())
        self._settled = threading.Condition(self._lock)
        self._waiters = 0

    # --- writing -------------------------------------------------------------------------

    def create_job(
        self,
        type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        max_retries: int = 3,
        actor: str | None = None,
    ) -> Job:
        """Add a new pending job and return its snapshot."""
        check_job_type(type)
        check_max_retries(max_retries)
        frozen = EMPTY_PAYLOAD if payload is None else checked_payload(payload)
        actor = self._actor(actor)
        job_id = self._new_job_id()
        at = self._now()
        job = Job(job_id, type, PENDING, frozen, max_retries, 0, None, datetime.now(timezone.utc))
        with self._lock:
            if job_id in self._jobs:
                raise ValueError(f"the id factory returned {job_id!r}, which is already taken")
            self._jobs[job_id] = job
            self._ids_by_status[PENDING][job_id] = len(self._jobs)
            self._audit.record(at, job_id, None, PENDING, True, actor)
            return job

    def claim_job(self, job_id: str, *, actor: str | None = None) -> Job | None:
        """Move a pending job to processing and count the attempt, as one step; ``None`` when
        it is not pending (someone else claimed it first, or it is finished)."""
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            if job.status is not PENDING:
                reason = f"job is {job.status.value}, not pending"
                self._audit.record(at, job_id, job.status, PROCESSING, False, actor, reason)
                return None
            return self._apply(job, PROCESSING, None, actor, at)

    def update_status(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        *,
        actor: str | None = None,
    ) -> Job:
        """Move a job to ``status``, with ``last_error`` when it failed, as one step.

        This is how a worker *signals* an outcome. When the store refuses, it raises
        ``InvalidTransition`` or ``ValueError`` and the job is exactly as it was.
        """
        to_status = parse_status(status)
        if last_error is not None and not isinstance(last_error, str):
            raise TypeError(f"last_error must be a str or None, got {type(last_error).__name__}")
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            reason = _refusal(job, to_status, last_error)
            if reason is None:
                return self._apply(job, to_status, last_error, actor, at)
            self._audit.record(at, job_id, job.status, to_status, False, actor, reason)
        if not can_transition(job.status, to_status):
            raise InvalidTransition(job_id, job.status, to_status)
        raise ValueError(f"job {job_id!r} not moved to {to_status.value!r}: {reason}")

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Send every failed job that has attempts left back to pending, oldest first."""
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            retryable = sorted(self._retryable, key=self._retryable.__getitem__)
            return [self._apply(self._jobs[i], PENDING, None, actor, at) for i in retryable]

    # --- reading -------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        """The current snapshot of one job; ``JobNotFound`` if there is none."""
        with self._lock:
            return self._get(job_id)

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """All jobs, or the jobs with one status, in the order they were created."""
        if status is None:
            with self._lock:
                return list(self._jobs.values())
        wanted = parse_status(status)
        with self._lock:
            ids = self._ids_by_status[wanted]
            return [self._jobs[i] for i in sorted(ids, key=ids.__getitem__)]

    def get_pending_jobs(self) -> list[Job]:
        """Jobs waiting for a worker, oldest first."""
        return self.list_jobs(PENDING)

    def get_processing_jobs(self) -> list[Job]:
        """Jobs a worker holds right now, oldest first."""
        return self.list_jobs(PROCESSING)

    def get_failed_jobs(self) -> list[Job]:
        """Jobs whose last attempt failed, oldest first, each with its ``last_error``."""
        return self.list_jobs(FAILED)

    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, those waiting longest first; at most ``limit`` of them."""
        limit = check_limit(limit)
        with self._lock:
            return list(itertools.islice(self._ids_by_status[PENDING], limit))

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status present, zeros included)."""
        with self._lock:
            return {status: len(ids) for status, ids in self._ids_by_status.items()}

    def transitions(self, start: int = 0) -> list[Transition]:
        """The audit log from entry ``start`` on: every attempted change, in order."""
        check_int(start, "start", minimum=0)
        with self._lock:
            rows = self._audit.rows(start)
        # Records are built after the lock is let go, so a long read never holds up workers.
        return as_transitions(rows)

    def all_settled(self) -> bool:
        """True when every job is completed, or failed with no attempts left."""
        with self._lock:
            return self._all_settled()

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until ``all_settled()`` holds or ``timeout`` seconds pass; return which."""
        timeout = check_timeout(timeout)
        with self._lock:
            self._waiters += 1
            try:
                return self._settled.wait_for(self._all_settled, timeout)
            finally:
                self._waiters -= 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.list_jobs())

    def __repr__(self) -> str:
        counts = ", ".join(f"{s.value}={n}" for s, n in self.counts().items())
        return f"<InMemoryJobStore {counts}>"

    # --- outside the lock: calling the caller's code ---------------------------------------

    def _new_job_id(self) -> str:
        job_id = self._new_id()
        if not isinstance(job_id, str) or not job_id:
            raise TypeError(f"the id factory must return a non-empty str, got {job_id!r}")
        return job_id

    def _now(self) -> float:
        at = self._clock()
        if isinstance(at, bool) or not isinstance(at, (int, float)):
            raise TypeError(f"the store's clock must return a number, got {type(at).__name__}")
        if not math.isfinite(at):
            raise ValueError(f"the store's clock must return a finite number, got {at!r}")
        return at

    @staticmethod
    def _actor(actor: str | None) -> str:
        return check_actor(actor) or threading.current_thread().name

    # --- inside the lock -----------------------------------------------------------------

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise JobNotFound(job_id) from None

    def _apply(
        self, job: Job, to_status: JobStatus, last_error: str | None, actor: str, at: float
    ) -> Job:
        """Build the new snapshot with every field changed at once, then save it once."""
        attempts = job.attempts + 1 if to_status is PROCESSING else job.attempts
        error = job.last_error if last_error is None else last_error
        # Positional arguments: this runs on every change of every job, and they cost less.
        updated = Job(
            job.id, job.type, to_status, job.payload, job.max_retries, attempts, error,
            job.created_at,
        )
        number = self._ids_by_status[job.status].pop(job.id)
        self._ids_by_status[to_status][job.id] = number
        self._retryable.pop(job.id, None)
        if updated.can_retry:
            self._retryable[job.id] = number
        self._jobs[job.id] = updated
        self._audit.record(at, job.id, job.status, to_status, True, actor, last_error)
        if self._waiters and to_status in (COMPLETED, FAILED) and self._all_settled():
            self._settled.notify_all()
        return updated

    def _all_settled(self) -> bool:
        by_status = self._ids_by_status
        return not (by_status[PENDING] or by_status[PROCESSING] or self._retryable)


def _refusal(job: Job, to_status: JobStatus, last_error: str | None) -> str | None:
    """Why the store must refuse this change, or ``None`` when it may go ahead."""
    if not can_transition(job.status, to_status):
        return f"{job.status.value} -> {to_status.value} is not in the transition table"
    if to_status is FAILED and not (last_error and last_error.strip()):
        return "a failed job needs a last_error that says why it failed"
    if to_status is not FAILED and last_error is not None:
        return f"last_error is only given when a job fails, not when it becomes {to_status.value}"
    if to_status is PENDING and not job.can_retry:
        return f"no attempts left ({job.attempts} of {job.max_retries} used)"
    return None
