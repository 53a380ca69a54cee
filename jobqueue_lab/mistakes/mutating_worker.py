"""Mistake 1: the worker changes job state itself, on records a store hands out live.

``LiveRecordStore`` gives away the records it keeps instead of snapshots, and ``MutatingWorker``
assigns to their fields instead of asking the store for a change. Between them nothing checks
the transition table, nothing makes a check and its change one step, and nothing writes down
what happened.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..audit import Transition
from ..domain import (
    COMPLETED,
    EMPTY_PAYLOAD,
    FAILED,
    PENDING,
    PROCESSING,
    Job,
    JobStatus,
    parse_status,
)
from ..errors import JobNotFound
from ..stores.contract import JobStore
from ..stores.memory import sequential_ids
from ..validation import (
    check_actor,
    check_job_type,
    check_limit,
    check_max_retries,
    check_timeout,
    checked_payload,
)
from ..work_queue import WorkQueue
from ..worker import Handler, Worker, describe_failure
from .hooks import Hook, carry_on

LOOK_AGAIN_SECONDS = 0.005
"""How often ``LiveRecordStore.wait_until_settled`` looks at its records again."""


@dataclass(eq=False)
class JobRecord:
    """A job as a plain mutable object: whoever holds one can change any field, at any time.

    This is what a store hands out when it gives away the record it keeps instead of a copy
    (in Go, a pointer to the stored struct). It has the fields of ``Job``, so the failure
    policies, the tables and the checker read it just the same.
    """

    id: str
    type: str
    status: JobStatus
    payload: Mapping[str, Any] = field(default_factory=lambda: EMPTY_PAYLOAD)
    max_retries: int = 3
    attempts: int = 0
    last_error: str | None = None
    permanent: bool = False

    def snapshot(self) -> Job:
        """A frozen copy of the fields as they are now. They are read one at a time, so a copy
        taken while someone is changing the record can mix old and new values."""
        return Job(
            id=self.id,
            type=self.type,
            status=self.status,
            payload=self.payload,
            max_retries=self.max_retries,
            attempts=self.attempts,
            last_error=self.last_error,
            permanent=self.permanent,
        )

    @property
    def can_retry(self) -> bool:
        return self.snapshot().can_retry

    @property
    def is_dead(self) -> bool:
        return self.snapshot().is_dead

    @property
    def is_settled(self) -> bool:
        return self.snapshot().is_settled

    def payload_json(self) -> str:
        return self.snapshot().payload_json()


class LiveRecordStore:
    """Mistake 1's store: it gives out the very records it keeps, so workers change them directly.

    Its dict of records is locked, but the records it hands out are not: once a worker holds
    one, the store has no say in what happens to it. No transition is checked, nothing is
    logged, and each assignment is a separate moment another thread can look in on.

    It has every method of the ``JobStore`` contract, so the real ``WorkerPool`` and ``Sweeper``
    run on it, but it keeps none of the contract's promises: every job it returns is the live
    record, ``claim_job`` hands the record over without claiming anything, and there is no
    audit log. Correct counterpart: ``InMemoryJobStore``, which hands out frozen snapshots and
    changes a job only inside its own methods, under its lock.
    """

    lease_seconds = math.inf  # no leases: nobody ever takes a record back

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new_id = sequential_ids()
        self._records: dict[str, JobRecord] = {}

    def create_job(
        self, type: str, payload: Mapping[str, Any] | None = None, **options: Any
    ) -> JobRecord:
        """Add a pending job and return its record (the stored one, not a copy)."""
        check_job_type(type)
        max_retries = check_max_retries(options.get("max_retries", 3))
        check_actor(options.get("actor"))
        frozen = EMPTY_PAYLOAD if payload is None else checked_payload(payload)
        with self._lock:
            record = JobRecord(self._new_id(), type, PENDING, frozen, max_retries=max_retries)
            self._records[record.id] = record
            return record

    def claim_job(self, job_id: str, **_lease: object) -> JobRecord:
        """Hand over the live record, whatever its status: this store decides nothing, so the
        worker that holds the record checks it and changes it (``MutatingWorker.process``)."""
        return self.get_job(job_id)

    def claim_next(self, **_lease: object) -> JobRecord | None:
        """The oldest pending record, handed over as ``claim_job`` does."""
        waiting = self.list_jobs(PENDING)
        return waiting[0] if waiting else None

    def update_status(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        **_claim: object,
    ) -> JobRecord:
        """Assign the status, then the error, to the live record: no table, nothing refused."""
        record = self.get_job(job_id)
        record.status = parse_status(status)
        if last_error is not None:
            record.last_error = last_error
        return record

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[JobRecord]:
        """Set every failed record with attempts left back to pending, one assignment each."""
        retried = [record for record in self.list_jobs(FAILED) if record.can_retry]
        for record in retried:
            record.status = PENDING
        return retried

    def renew_lease(self, job_id: str, claim: int, **_lease: object) -> JobRecord:
        """No leases here: there is nothing to renew."""
        return self.get_job(job_id)

    def release_job(self, job_id: str, claim: int, **_actor: object) -> JobRecord:
        """Set the record back to pending, whoever asks."""
        record = self.get_job(job_id)
        record.status = PENDING
        return record

    def recover_expired_leases(self, **_actor: object) -> list[JobRecord]:
        """No leases here: a record a lost worker holds stays processing for good."""
        return []

    def requeue(self, job_id: str, **_actor: object) -> JobRecord:
        """Set the record back to pending with no attempts used, whatever it was."""
        record = self.get_job(job_id)
        record.status, record.attempts = PENDING, 0
        return record

    def get_dead_jobs(self) -> list[JobRecord]:
        return [record for record in self.list_jobs(FAILED) if not record.can_retry]

    def now(self) -> float:
        return time.monotonic()

    def get_job(self, job_id: str) -> JobRecord:
        """The stored record itself: change it, and you have changed the store."""
        with self._lock:
            try:
                return self._records[job_id]
            except (KeyError, TypeError):
                raise JobNotFound(job_id) from None

    def list_jobs(self, status: JobStatus | str | None = None) -> list[JobRecord]:
        """The stored records, in the order they were created (all, or those with one status)."""
        wanted = None if status is None else parse_status(status)
        with self._lock:
            records = list(self._records.values())
        return [r for r in records if wanted is None or r.status is wanted]

    def get_failed_jobs(self) -> list[JobRecord]:
        return self.list_jobs(FAILED)

    def pending_ids(self, limit: int | None = None) -> list[str]:
        return [record.id for record in self.list_jobs(PENDING)][: check_limit(limit)]

    def counts(self) -> dict[JobStatus, int]:
        """How many records are in each status right now (every status present)."""
        found = dict.fromkeys(JobStatus, 0)
        for record in self.list_jobs():
            found[record.status] += 1
        return found

    def transitions(self, start: int = 0) -> list[Transition]:
        """Refuses: nobody writes anything down here, so there is no audit log to read."""
        raise TypeError(
            "LiveRecordStore keeps no audit log: whoever holds a record changes it, unseen"
        )

    def all_settled(self) -> bool:
        """True when every record is completed, or failed with no attempts left."""
        return all(record.is_settled for record in self.list_jobs())

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Look again every few milliseconds until every record is settled, or ``timeout``
        seconds pass. Nobody tells this store when a record changes (whoever holds one just
        assigns to it), so looking again is all it can do."""
        timeout = check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.all_settled():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(LOOK_AGAIN_SECONDS)
        return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[JobRecord]:
        return iter(self.list_jobs())


# Registered so that the real pool and sweeper accept it (it has every method of the contract);
# it keeps none of the promises, which is the point.
JobStore.register(LiveRecordStore)


class MutatingWorker(Worker):
    """Mistake 1: a worker that changes the job record itself instead of signalling the store.

    It checks that the job is pending, then sets ``status``, ``attempts`` and ``last_error`` by
    plain assignment. Nothing checks the transition table and nothing makes the check and the
    change one step, so two workers handed the same id can both see "pending" and both run the
    job; a worker acting on a check it made a moment ago can take a job that has finished since;
    and a reader can look in between ``status = FAILED`` and ``last_error = ...``.

    ``race_window`` is called between the check and the change, ``between_writes`` between the
    two assignments of a failure, so a demo can hold the worker exactly there. A demo calls
    ``process`` with a record; started as a thread, it runs ``Worker``'s own loop on
    ``work_queue``. Correct counterpart: ``Worker``, which claims with ``claim_job`` and
    reports the outcome with ``update_status``, leaving every change to the store.
    """

    def __init__(
        self,
        name: str,
        store: LiveRecordStore,
        handler: Handler,
        *,
        race_window: Hook = carry_on,
        between_writes: Hook = carry_on,
        work_queue: WorkQueue | None = None,
        stop: threading.Event | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        work_queue = WorkQueue() if work_queue is None else work_queue
        stop = threading.Event() if stop is None else stop
        super().__init__(name, store, work_queue, handler, stop, lease_seconds=lease_seconds)
        self.race_window = race_window
        self.between_writes = between_writes

    def process(self, job: JobRecord) -> bool:
        """Work on a job record; False if it was not pending, so the worker left it alone."""
        if job.status is not PENDING:
            return False
        self.race_window(job)
        job.status = PROCESSING
        job.attempts += 1
        try:
            self._handler(job)
        except Exception as exc:
            job.status = FAILED
            self.between_writes(job)
            job.last_error = describe_failure(exc)
        else:
            job.status = COMPLETED
        return True
