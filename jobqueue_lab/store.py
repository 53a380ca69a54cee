"""The in-memory job store: the only place where job state changes.

Workers and the sweeper never assign a field of a job. They *ask* the store for a change
("claim this job", "this job failed, because ..."), and the store checks the transition table
and applies the whole change under one lock, or refuses it and changes nothing. Every request,
accepted or refused, goes into the audit log. The promises are written down once, in
``contract.JobStore``; this class keeps them.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .audit import REQUEUED, AuditLog, Transition, as_transitions
from .backoff import BackoffPolicy, no_delay
from .base import BaseJobStore
from .decisions import (
    check_claim,
    checked_lease,
    next_snapshot,
    refusal,
    stale_claim,
)
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
from .errors import InvalidTransition, JobNotFound, StaleClaim, stale_claim_reason
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


class InMemoryJobStore(BaseJobStore):
    """A thread-safe store of jobs, guarded by a single lock.

    Reads return immutable ``Job`` snapshots. Every write validates and applies its change
    while holding the lock, or refuses and changes nothing but the audit log. The four writes
    of the seed's state machine are ``create_job``, ``claim_job``, ``update_status`` and
    ``retry_failed_jobs``; the rest handle workers that are lost, stopped or late (notebook 08).

    ``lease_seconds`` is how long a claim lasts without a heartbeat. ``backoff`` says how long
    a failed job waits before it may be retried (see ``backoff``; by default, not at all).
    ``id_factory``, ``clock`` and ``backoff`` are called outside the lock, so they may even
    read the store. ``clock`` gives the store's time, in seconds, for leases and the audit log.

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
        lease_seconds: float = 30.0,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self._new_id = sequential_ids() if id_factory is None else id_factory
        check_callable(self._new_id, "id_factory", "with no arguments, returning a str")
        self._clock = check_callable(clock, "clock", "with no arguments, returning seconds")
        self.lease_seconds = checked_lease(lease_seconds)
        self._backoff = no_delay() if backoff is None else backoff
        check_callable(self._backoff, "backoff", "with a job, returning seconds")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        # Per status: job id -> creation number, so filtered reads cost what they return,
        # not what the store holds, and can still be given back in creation order.
        self._ids_by_status: dict[JobStatus, dict[str, int]] = {s: {} for s in JobStatus}
        # The failed jobs that may still be retried: the sweeper's to-do list.
        self._retryable: dict[str, int] = {}
        # How long the current lease of each processing job was granted for.
        self._lease_lengths: dict[str, float] = {}
        self._audit = AuditLog(started=self._now())
        self._settled = threading.Condition(self._lock)
        self._waiters = 0

    # --- the seed's four writes ----------------------------------------------------------

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
        job = Job(job_id, type, PENDING, frozen, max_retries, 0, None, datetime.now(UTC))
        with self._lock:
            if job_id in self._jobs:
                raise ValueError(f"the id factory returned {job_id!r}, which is already taken")
            self._jobs[job_id] = job
            self._ids_by_status[PENDING][job_id] = len(self._jobs)
            self._audit.record(at, job_id, None, PENDING, True, actor)
            return job

    def claim_job(
        self, job_id: str, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Move a pending job to processing, count the attempt and grant a lease, as one step;
        ``None`` when it is not pending (someone else claimed it first, or it is finished)."""
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            if job.status is not PENDING:
                reason = f"job is {job.status.value}, not pending"
                self._audit.record(at, job_id, job.status, PROCESSING, False, actor, reason)
                return None
            return self._claim(job, actor, at, lease)

    def claim_next(
        self, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Claim the pending job that has waited longest, or return ``None`` if none is."""
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            waiting = self._ids_by_status[PENDING]
            if not waiting:
                return None
            return self._claim(self._jobs[next(iter(waiting))], actor, at, lease)

    def update_status(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        *,
        claim: int | None = None,
        permanent: bool = False,
        actor: str | None = None,
    ) -> Job:
        """Move a job to ``status``, with ``last_error`` when it failed, as one step.

        This is how a worker *signals* an outcome, passing the ``claim`` it holds. A report
        from a claim that no longer holds the job raises ``StaleClaim``. ``permanent=True``
        fails the job for good, whatever attempts are left. When the store refuses, it raises
        ``InvalidTransition`` or ``ValueError`` and the job is exactly as it was.
        """
        to_status = parse_status(status)
        if last_error is not None and not isinstance(last_error, str):
            raise TypeError(f"last_error must be a str or None, got {type(last_error).__name__}")
        check_claim(claim)
        if not isinstance(permanent, bool):
            raise TypeError(f"permanent must be a bool, got {type(permanent).__name__}")
        if permanent and to_status is not FAILED:
            raise ValueError("permanent=True is only for a job that fails")
        actor = self._actor(actor)
        delay = self._retry_delay(job_id) if to_status is FAILED and not permanent else None
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            refused = self._fence(job, to_status, claim) or refusal(job, to_status, last_error)
            if refused is None:
                if to_status is PROCESSING:
                    return self._claim(job, actor, at, self.lease_seconds)
                return self._finish(
                    job, to_status, last_error, permanent, delay, actor, at, claim or job.claim
                )
            reason = refused if isinstance(refused, str) else stale_claim_reason(refused)
            self._audit.record(at, job_id, job.status, to_status, False, actor, reason, claim)
        if isinstance(refused, StaleClaim):
            raise refused
        if not can_transition(job.status, to_status):
            raise InvalidTransition(job_id, job.status, to_status)
        raise ValueError(f"job {job_id!r} not moved to {to_status.value!r}: {reason}")

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Send every failed job that may retry and is due back to pending, oldest first."""
        actor = self._actor(actor)
        now = self._now()
        with self._lock:
            retryable = sorted(self._retryable, key=self._retryable.__getitem__)
            due = [self._jobs[i] for i in retryable if _due(self._jobs[i], now)]
            return [self._back_to_pending(job, job.attempts, actor, now) for job in due]

    # --- lost, stopped and late workers (notebook 08) --------------------------------------

    def renew_lease(
        self,
        job_id: str,
        claim: int,
        *,
        actor: str | None = None,
        lease_seconds: float | None = None,
    ) -> Job:
        """A heartbeat: extend the lease of ``claim``, which must still hold the job.

        Renewals change no status, so only refused ones go into the audit log.
        """
        check_claim(claim, required=True)
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            stale = stale_claim(job, PROCESSING, claim)
            if stale is None:
                renewed = next_snapshot(job, PROCESSING, lease_expires_at=at + lease)
                self._jobs[job_id] = renewed
                self._lease_lengths[job_id] = lease
                return renewed
            self._audit.record(
                at, job_id, job.status, PROCESSING, False, actor, stale_claim_reason(stale), claim
            )
        raise stale

    def release_job(self, job_id: str, claim: int, *, actor: str | None = None) -> Job:
        """Give a claimed job back: processing -> pending, the attempt not counted.

        For a worker that stops before its handler finished: the job did nothing wrong, so it
        keeps its whole budget. Only the current claim may release (``StaleClaim`` otherwise).
        """
        check_claim(claim, required=True)
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            stale = stale_claim(job, PENDING, claim)
            if stale is None:
                note = f"released by {actor}: attempt {job.attempts} not counted"
                return self._back_to_pending(job, job.attempts - 1, actor, at, note, claim)
            self._audit.record(
                at, job_id, job.status, PENDING, False, actor, stale_claim_reason(stale), claim
            )
        raise stale

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        """Fail every processing job whose lease has run out, and return them, oldest first.

        Nobody reported these jobs: their worker hung, died, or lost touch. The expired
        attempt counts, so the job is retried within ``max_retries`` like any other failure.
        """
        actor = self._actor(actor)
        now = self._now()
        with self._lock:
            expired = [job for job in self._processing() if job.lease_expires_at <= now]
        delays = {job.id: self._retry_delay(job) for job in expired}
        recovered = []
        with self._lock:
            for seen in expired:
                job = self._jobs[seen.id]
                if job.status is not PROCESSING or job.claim != seen.claim:
                    continue  # its worker reported or released it meanwhile
                if job.lease_expires_at > now:
                    continue  # or sent a heartbeat: it is alive after all
                length = self._lease_lengths[job.id]
                error = (
                    f"lease expired after {length} s: {job.claimed_by} lost or stuck "
                    f"on attempt {job.attempts}"
                )
                delay = delays[job.id]
                recovered.append(
                    self._finish(job, FAILED, error, False, delay, actor, now, job.claim)
                )
        return recovered

    def requeue(self, job_id: str, *, actor: str | None = None) -> Job:
        """Give a dead job (failed for good) a fresh budget and send it back to pending.

        A deliberate operator action, after the cause of the failures was fixed. The job keeps
        its ``last_error`` and its claim numbers go on from where they were.
        """
        actor = self._actor(actor)
        at = self._now()
        with self._lock:
            job = self._get(job_id)
            if job.is_dead:
                note = f"{REQUEUED} by {actor}: a fresh budget of {job.max_retries} attempts"
                return self._back_to_pending(job, 0, actor, at, note)
            reason = (
                "only a dead job (failed for good) can be requeued; "
                f"this one is {job.status.value}"
                + (" and will be retried by the sweeper" if job.can_retry else "")
            )
            self._audit.record(at, job_id, job.status, PENDING, False, actor, reason)
        raise ValueError(f"job {job_id!r} not requeued: {reason}")

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

    def __repr__(self) -> str:
        counts = ", ".join(f"{s.value}={n}" for s, n in self.counts().items())
        return f"<InMemoryJobStore {counts}>"

    # --- outside the lock: calling the caller's code ---------------------------------------

    def _new_job_id(self) -> str:
        job_id = self._new_id()
        if not isinstance(job_id, str) or not job_id:
            raise TypeError(f"the id factory must return a non-empty str, got {job_id!r}")
        return job_id

    @staticmethod
    def _actor(actor: str | None) -> str:
        return check_actor(actor) or threading.current_thread().name

    # --- inside the lock -----------------------------------------------------------------

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise JobNotFound(job_id) from None

    def _processing(self) -> list[Job]:
        ids = self._ids_by_status[PROCESSING]
        return [self._jobs[i] for i in sorted(ids, key=ids.__getitem__)]

    def _claim(self, job: Job, actor: str, at: float, lease: float) -> Job:
        self._lease_lengths[job.id] = lease
        claimed = next_snapshot(
            job,
            PROCESSING,
            attempts=job.attempts + 1,
            claim=job.claim + 1,
            claimed_by=actor,
            lease_expires_at=at + lease,
        )
        return self._save(job, claimed, actor, at, None, claimed.claim)

    def _finish(
        self,
        job: Job,
        to_status: JobStatus,
        last_error: str | None,
        permanent: bool,
        delay: float | None,
        actor: str,
        at: float,
        claim: int,
    ) -> Job:
        """An outcome: the job leaves processing; ``claim`` is the claim it is recorded under
        (the reporter's, which only a store without fencing lets differ from the job's)."""
        self._lease_lengths.pop(job.id, None)
        finished = next_snapshot(
            job,
            to_status,
            last_error=last_error,
            retry_at=None if delay is None else at + delay,
            permanent=permanent,
        )
        return self._save(job, finished, actor, at, last_error, claim or None)

    def _back_to_pending(
        self,
        job: Job,
        attempts: int,
        actor: str,
        at: float,
        detail: str | None = None,
        claim: int | None = None,
    ) -> Job:
        self._lease_lengths.pop(job.id, None)
        pending = next_snapshot(job, PENDING, attempts=attempts)
        return self._save(job, pending, actor, at, detail, claim)

    def _save(
        self, job: Job, updated: Job, actor: str, at: float, detail: str | None, claim: int | None
    ) -> Job:
        """Save a changed snapshot: indexes, the audit entry, and a word to anyone waiting."""
        number = self._ids_by_status[job.status].pop(job.id)
        self._ids_by_status[updated.status][job.id] = number
        self._retryable.pop(job.id, None)
        if updated.can_retry:
            self._retryable[job.id] = number
        self._jobs[job.id] = updated
        self._audit.record(at, job.id, job.status, updated.status, True, actor, detail, claim)
        if self._waiters and updated.status in (COMPLETED, FAILED) and self._all_settled():
            self._settled.notify_all()
        return updated

    def _all_settled(self) -> bool:
        by_status = self._ids_by_status
        return not (by_status[PENDING] or by_status[PROCESSING] or self._retryable)


def _due(job: Job, now: float) -> bool:
    return job.retry_at is None or job.retry_at <= now
