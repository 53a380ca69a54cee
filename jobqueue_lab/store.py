"""The in-memory job store: the only place where job state changes.

Workers and the sweeper never assign a field of a job. They *ask* the store for a change
("claim this job", "this job failed, because ..."), and the store checks the transition table
and applies the whole change under one lock, or refuses it and changes nothing. Every request,
accepted or refused, goes into the audit log.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from .audit import AuditLog, Transition
from .domain import (
    EMPTY_PAYLOAD,
    Job,
    JobStatus,
    can_transition,
    parse_status,
)
from .errors import InvalidTransition, JobNotFound
from .validation import check_job_type, check_limit, check_max_retries, checked_payload


def sequential_ids(prefix: str = "job-", width: int = 3) -> Callable[[], str]:
    """Return an id factory giving ``job-001``, ``job-002``, ...: the same ids every run."""
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers):0{width}d}"


class InMemoryJobStore:
    """A thread-safe store of jobs, guarded by a single lock.

    Reads return immutable ``Job`` snapshots. Writes go through four methods, each of which
    validates and applies its change while holding the lock: ``create_job``, ``claim_job``,
    ``update_status`` and ``retry_failed_jobs``.

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
        self._lock = threading.Lock()
        # Waiters are woken only when the store becomes settled, not at every change.
        self._settled = threading.Condition(self._lock)
        self._new_id = id_factory or sequential_ids()
        self._jobs: dict[str, Job] = {}
        # Per status: job id -> creation number, so filtered reads cost what they return,
        # not what the store holds, and can still be given back in creation order.
        self._ids_by_status: dict[JobStatus, dict[str, int]] = {s: {} for s in JobStatus}
        # The failed jobs that may still be retried: the sweeper's to-do list.
        self._retryable: dict[str, int] = {}
        self._audit = AuditLog(clock)

    # --- writing -------------------------------------------------------------------------

    def create_job(
        self,
        type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        max_retries: int = 3,
        actor: str | None = None,
    ) -> Job:
        """Add a new pending job and return its snapshot.

        The payload is copied, so changing the dict you passed in later changes nothing here.
        Bad input raises ``TypeError`` or ``ValueError`` and stores nothing.
        """
        check_job_type(type)
        check_max_retries(max_retries)
        frozen = EMPTY_PAYLOAD if payload is None else checked_payload(payload)
        actor = actor or threading.current_thread().name
        created_at = datetime.now(timezone.utc)
        with self._lock:
            job_id = self._new_id()
            if not isinstance(job_id, str) or not job_id:
                raise TypeError(f"the id factory must return a non-empty str, got {job_id!r}")
            if job_id in self._jobs:
                raise ValueError(f"the id factory returned {job_id!r}, which is already taken")
            job = Job(
                id=job_id,
                type=type,
                status=JobStatus.PENDING,
                payload=frozen,
                max_retries=max_retries,
                created_at=created_at,
            )
            self._jobs[job_id] = job
            self._ids_by_status[JobStatus.PENDING][job_id] = len(self._jobs)
            self._audit.record(job_id, None, JobStatus.PENDING, accepted=True, actor=actor)
            return job

    def claim_job(self, job_id: str, *, actor: str | None = None) -> Job | None:
        """Move a pending job to processing and count the attempt, as one step.

        Returns the claimed snapshot, or ``None`` when the job is not pending (someone else
        claimed it first, or it is finished). Two workers can never both win the same claim.
        """
        actor = actor or threading.current_thread().name
        with self._lock:
            job = self._get(job_id)
            if job.status is not JobStatus.PENDING:
                reason = f"job is {job.status.value}, not pending"
                self._audit.record(
                    job_id,
                    job.status,
                    JobStatus.PROCESSING,
                    accepted=False,
                    actor=actor,
                    detail=reason,
                )
                return None
            return self._apply(job, JobStatus.PROCESSING, None, actor)

    def update_status(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        *,
        actor: str | None = None,
    ) -> Job:
        """Move a job to ``status``, with ``last_error`` when it failed, as one step.

        This is how a worker *signals* an outcome. The store checks the transition table (and,
        for a retry, the attempt limit), then sets status and error together and saves once.
        When it refuses, it raises ``InvalidTransition`` or ``ValueError`` and the job is
        exactly as it was. A failed job must say why: ``last_error`` is required for FAILED.
        """
        to_status = parse_status(status)
        if last_error is not None and not isinstance(last_error, str):
            raise TypeError(f"last_error must be a str or None, got {type(last_error).__name__}")
        actor = actor or threading.current_thread().name
        with self._lock:
            job = self._get(job_id)
            reason = _refusal(job, to_status, last_error)
            if reason is not None:
                self._audit.record(
                    job_id, job.status, to_status, accepted=False, actor=actor, detail=reason
                )
                if not can_transition(job.status, to_status):
                    raise InvalidTransition(job_id, job.status, to_status)
                raise ValueError(f"job {job_id!r} not moved to {to_status.value!r}: {reason}")
            return self._apply(job, to_status, last_error, actor)

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Send every failed job that has attempts left back to pending, and return them.

        Failed jobs with no attempts left stay failed for good. Each job keeps its
        ``last_error``, so the reason for the previous failure is still there to read.
        """
        actor = actor or threading.current_thread().name
        with self._lock:
            retryable = sorted(self._retryable, key=self._retryable.__getitem__)
            return [self._apply(self._jobs[i], JobStatus.PENDING, None, actor) for i in retryable]

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
            return [self._jobs[i] for i in self._ids_in_creation_order(wanted)]

    def get_pending_jobs(self) -> list[Job]:
        """Jobs waiting for a worker, oldest first."""
        return self.list_jobs(JobStatus.PENDING)

    def get_processing_jobs(self) -> list[Job]:
        """Jobs a worker holds right now, oldest first."""
        return self.list_jobs(JobStatus.PROCESSING)

    def get_failed_jobs(self) -> list[Job]:
        """Jobs whose last attempt failed, oldest first, each with its ``last_error``."""
        return self.list_jobs(JobStatus.FAILED)

    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, those waiting longest first; at most ``limit`` of them.

        Unlike ``get_pending_jobs()``, which sorts every pending job by creation, this costs
        only what it returns, so the work queue and the sweeper can ask for the next few
        jobs often, even while a burst of thousands waits.
        """
        check_limit(limit)
        with self._lock:
            return list(itertools.islice(self._ids_by_status[JobStatus.PENDING], limit))

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status present, zeros included)."""
        with self._lock:
            return {status: len(ids) for status, ids in self._ids_by_status.items()}

    def transitions(self, start: int = 0) -> list[Transition]:
        """The audit log from entry ``start`` on: every attempted change, in order."""
        with self._lock:
            return self._audit.entries(start)

    def all_settled(self) -> bool:
        """True when every job is completed, or failed with no attempts left."""
        with self._lock:
            return self._all_settled()

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until ``all_settled()`` holds or ``timeout`` seconds pass; return which."""
        with self._lock:
            return self._settled.wait_for(self._all_settled, timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.list_jobs())

    def __repr__(self) -> str:
        counts = ", ".join(f"{s.value}={n}" for s, n in self.counts().items())
        return f"<InMemoryJobStore {counts}>"

    # --- inside the lock -----------------------------------------------------------------

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise JobNotFound(job_id) from None

    def _apply(self, job: Job, to_status: JobStatus, last_error: str | None, actor: str) -> Job:
        """Build the new snapshot with every field changed at once, then save it once.

        The fields are listed one by one rather than copied with ``dataclasses.replace``,
        which takes twice as long, on a path that every job takes at least twice.
        """
        updated = Job(
            id=job.id,
            type=job.type,
            status=to_status,
            payload=job.payload,
            max_retries=job.max_retries,
            attempts=job.attempts + 1 if to_status is JobStatus.PROCESSING else job.attempts,
            last_error=job.last_error if last_error is None else last_error,
            created_at=job.created_at,
        )
        number = self._ids_by_status[job.status].pop(job.id)
        self._ids_by_status[to_status][job.id] = number
        self._retryable.pop(job.id, None)
        if updated.can_retry:
            self._retryable[job.id] = number
        self._jobs[job.id] = updated
        self._audit.record(
            job.id, job.status, to_status, accepted=True, actor=actor, detail=last_error
        )
        if to_status in (JobStatus.COMPLETED, JobStatus.FAILED) and self._all_settled():
            self._settled.notify_all()
        return updated

    def _ids_in_creation_order(self, status: JobStatus) -> list[str]:
        ids = self._ids_by_status[status]
        return sorted(ids, key=ids.__getitem__)

    def _all_settled(self) -> bool:
        unsettled = (
            self._ids_by_status[JobStatus.PENDING],
            self._ids_by_status[JobStatus.PROCESSING],
            self._retryable,
        )
        return not any(unsettled)


def _refusal(job: Job, to_status: JobStatus, last_error: str | None) -> str | None:
    """Why the store must refuse this change, or ``None`` when it may go ahead."""
    if not can_transition(job.status, to_status):
        return f"{job.status.value} -> {to_status.value} is not in the transition table"
    if to_status is JobStatus.FAILED and not (last_error and last_error.strip()):
        return "a failed job needs a last_error that says why it failed"
    if to_status is not JobStatus.FAILED and last_error is not None:
        return f"last_error is only given when a job fails, not when it becomes {to_status.value}"
    if to_status is JobStatus.PENDING and job.attempts >= job.max_retries:
        return f"no attempts left ({job.attempts} of {job.max_retries} used)"
    return None
