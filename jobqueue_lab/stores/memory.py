"""The in-memory job store: jobs in a dict, every change made under one lock.

Workers and the sweeper never assign a field of a job. They *ask* the store for a change, and
the store (``JobStore``, in ``contract``) decides it with ``decisions`` while holding the lock,
then saves it here. This module only says how this store locks, reads and saves.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..audit import AuditLog, Transition, as_transitions
from ..backoff import BackoffPolicy, no_delay
from ..decisions import Decision, checked_lease
from ..domain import COMPLETED, FAILED, PENDING, PROCESSING, Job, JobStatus, parse_status
from ..errors import JobNotFound
from ..validation import check_callable, check_int, check_limit, check_timeout
from .contract import JobStore
from .store_lock import StoreLock


def sequential_ids(prefix: str = "job-", width: int = 3) -> Callable[[], str]:
    """Return an id factory giving ``job-001``, ``job-002``, ...: the same ids every run."""
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers):0{width}d}"


class InMemoryJobStore(JobStore):
    """A thread-safe store of jobs, guarded by a single lock.

    Reads return immutable ``Job`` snapshots; every write is decided and saved while the lock
    is held (see ``JobStore``). ``lease_seconds`` is how long a claim lasts without a heartbeat.
    ``backoff`` says how long a failed job waits before it may be retried (see ``backoff``; by
    default, not at all). ``clock`` gives the store's time, in seconds, for leases and the
    audit log. ``id_factory`` and ``clock`` are called before the lock is taken; ``backoff`` is
    asked while it is held, and the lock is re-entrant, so a policy that reads the store does
    not deadlock.
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
        self._lock = StoreLock()  # a threading.RLock that never forms a convoy: store_lock.py
        self._settled = threading.Condition(self._lock)
        self._jobs: dict[str, Job] = {}
        # Kept for speed, the one index: every job but the completed ones, on its shelf (id ->
        # creation number), pending ones in line order. Workers, the sweeper and the failed
        # and dead-letter views read their shelf, never the whole run.
        self._shelves: dict[str, dict[str, int]] = {shelf: {} for shelf in SHELVES}
        self._audit = AuditLog(started=self._now())

    # --- how this store locks, reads and saves (see JobStore) ------------------------------

    def _changing(self) -> StoreLock:
        return self._lock  # the place a change happens in is simply "while holding the lock"

    def _read(self, place: object, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise JobNotFound(job_id) from None

    def _next_in_line(self, place: object) -> Job | None:
        line = self._shelves[PENDING_SHELF]
        return self._jobs[next(iter(line))] if line else None

    def _retry_candidates(self, place: object, now: float) -> list[Job]:
        return self._oldest_first(RETRYING)

    def _expiry_candidates(self, place: object, now: float) -> list[Job]:
        return self._oldest_first(PROCESSING_SHELF)

    def _new_job(self, type: str, payload: Mapping[str, Any], max_retries: int) -> Job:
        job_id = self._new_id()
        if not isinstance(job_id, str) or not job_id:
            raise TypeError(f"the id factory must return a non-empty str, got {job_id!r}")
        return Job.new(job_id, type, payload, max_retries, datetime.now(UTC))

    def _add(self, place: object, new: Job) -> Job:
        if new.id in self._jobs:
            raise ValueError(f"the id factory returned {new.id!r}, which is already taken")
        return new

    def _save(self, place: object, decision: Decision, at: float, actor: str) -> None:
        job = decision.after
        if job is not None:
            before, after = _shelf(decision.job), _shelf(job)
            number = self._shelves[before].pop(job.id, None) if before else None
            if number is None:  # a new job: it comes last in creation order
                number = len(self._jobs) + 1
            if after:
                self._shelves[after][job.id] = number
            if job.is_settled and not self._work_left():
                self._settled.notify_all()
            self._jobs[job.id] = job
        if decision.audited:
            self._audit.append(decision.entry(at, actor))

    # --- reading -------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        """The current snapshot of one job; ``JobNotFound`` if there is none."""
        with self._lock:
            return self._read(None, job_id)

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """All jobs, or the jobs with one status, in the order they were created."""
        wanted = None if status is None else parse_status(status)
        with self._lock:
            if wanted is None:
                return list(self._jobs.values())
            if wanted is not COMPLETED:
                return self._oldest_first(*SHELVES_OF[wanted])
            jobs = list(self._jobs.values())
        return [job for job in jobs if job.status is COMPLETED]

    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, those waiting longest first; at most ``limit`` of them."""
        limit = check_limit(limit)
        with self._lock:
            return list(itertools.islice(self._shelves[PENDING_SHELF], limit))

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status present, zeros included)."""
        with self._lock:
            shelved = {shelf: len(ids) for shelf, ids in self._shelves.items()}
            completed = len(self._jobs) - sum(shelved.values())
        return {
            PENDING: shelved[PENDING_SHELF],
            PROCESSING: shelved[PROCESSING_SHELF],
            COMPLETED: completed,
            FAILED: shelved[RETRYING] + shelved[DEAD],
        }

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
            return not self._work_left()

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until ``all_settled()`` holds or ``timeout`` seconds pass; return which."""
        timeout = check_timeout(timeout)
        with self._lock:
            return self._settled.wait_for(lambda: not self._work_left(), timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def __repr__(self) -> str:
        counts = ", ".join(f"{s.value}={n}" for s, n in self.counts().items())
        return f"<InMemoryJobStore {counts}>"

    # --- inside the lock -----------------------------------------------------------------

    def _work_left(self) -> bool:
        shelves = self._shelves
        return bool(shelves[PENDING_SHELF] or shelves[PROCESSING_SHELF] or shelves[RETRYING])

    def _oldest_first(self, *shelves: str) -> list[Job]:
        numbers = {job_id: n for shelf in shelves for job_id, n in self._shelves[shelf].items()}
        return [self._jobs[i] for i in sorted(numbers, key=numbers.__getitem__)]


PENDING_SHELF, PROCESSING_SHELF, RETRYING, DEAD = "pending", "processing", "retrying", "dead"
SHELVES = (PENDING_SHELF, PROCESSING_SHELF, RETRYING, DEAD)
"""Where the index keeps a job that is not completed: failed jobs are split by whether the
sweeper will retry them (``may_retry``) or they are in the dead-letter view."""

SHELVES_OF: dict[JobStatus, tuple[str, ...]] = {
    PENDING: (PENDING_SHELF,),
    PROCESSING: (PROCESSING_SHELF,),
    FAILED: (RETRYING, DEAD),
    COMPLETED: (),
}


def _shelf(job: Job) -> str | None:
    """The shelf of the index a job belongs on; ``None`` for a completed job."""
    if job.status is FAILED:
        return RETRYING if job.can_retry else DEAD
    shelves = SHELVES_OF[job.status]  # one for pending or processing, none for completed
    return shelves[0] if shelves else None
