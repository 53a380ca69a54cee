"""The deliberately broken variants: each class or function here makes one mistake on purpose.

Its docstring names the mistake (numbered as in the chapter's "common mistakes") and the correct
counterpart elsewhere in the package. ``scenarios`` runs each one beside that counterpart.

A broken variant that only *sometimes* misbehaves teaches nothing, so the broken code takes a
hook at its race window (between its read and its write). A scenario passes a ``Barrier`` or
``Event`` there, so the bad interleaving happens on every run, not by luck.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..checks import JobLike
from ..domain import EMPTY_PAYLOAD, Job, JobStatus, can_transition, freeze_payload, parse_status
from ..errors import InvalidTransition, JobNotFound
from ..failures import simulated_work
from ..store import sequential_ids
from ..validation import check_job_type, check_max_retries, checked_payload
from ..worker import Handler, Worker, describe_failure

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus

Hook = Callable[[Any], object]
"""A pause point in broken code: called with the job at the race window, then carries on."""


def carry_on(job: object) -> None:
    """The hook used when a demo does not hold the code anywhere: do nothing."""


# --- mistake 1: the worker mutates job state ----------------------------------------------


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
        )

    @property
    def can_retry(self) -> bool:
        return self.snapshot().can_retry

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
    Correct counterpart: ``InMemoryJobStore``, which hands out frozen snapshots and changes a
    job only inside its own methods, under its lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new_id = sequential_ids()
        self._records: dict[str, JobRecord] = {}

    def create_job(
        self, type: str, payload: Mapping[str, Any] | None = None, *, max_retries: int = 3
    ) -> JobRecord:
        """Add a pending job and return its record (the stored one, not a copy)."""
        check_job_type(type)
        check_max_retries(max_retries)
        frozen = EMPTY_PAYLOAD if payload is None else checked_payload(payload)
        with self._lock:
            record = JobRecord(self._new_id(), type, PENDING, frozen, max_retries=max_retries)
            self._records[record.id] = record
            return record

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

    def counts(self) -> dict[JobStatus, int]:
        """How many records are in each status right now (every status present)."""
        found = dict.fromkeys(JobStatus, 0)
        for record in self.list_jobs():
            found[record.status] += 1
        return found

    def all_settled(self) -> bool:
        """True when every record is completed, or failed with no attempts left."""
        return all(record.is_settled for record in self.list_jobs())

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[JobRecord]:
        return iter(self.list_jobs())


class MutatingWorker(threading.Thread):
    """Mistake 1: a worker that changes the job record itself instead of signalling the store.

    It checks that the job is pending, then sets ``status``, ``attempts`` and ``last_error`` by
    plain assignment. Nothing checks the transition table and nothing makes the check and the
    change one step, so two workers handed the same id can both see "pending" and both run the
    job; a worker acting on a check it made a moment ago can take a job that has finished since;
    and a reader can look in between ``status = FAILED`` and ``last_error = ...``.

    ``race_window`` is called between the check and the change, ``between_writes`` between the
    two assignments of a failure, so a demo can hold the worker exactly there.
    Correct counterpart: ``Worker``, which claims with ``claim_job`` and reports the outcome
    with ``update_status``, leaving every change to the store.
    """

    def __init__(
        self,
        name: str,
        store: LiveRecordStore,
        handler: Handler,
        take: Callable[[], str | None] | None = None,
        *,
        race_window: Hook = carry_on,
        between_writes: Hook = carry_on,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._store = store
        self._handler = handler
        self._take = take or (lambda: None)
        self._race_window = race_window
        self._between_writes = between_writes
        self.jobs_run = 0

    def run(self) -> None:
        while (job_id := self._take()) is not None:
            self.process(self._store.get_job(job_id))

    def process(self, job: JobRecord) -> bool:
        """Work on a job record; False if it was not pending, so the worker left it alone."""
        if job.status is not PENDING:
            return False
        self._race_window(job)
        job.status = PROCESSING
        job.attempts += 1
        try:
            self._handler(job)
        except Exception as exc:
            job.status = FAILED
            self._between_writes(job)
            job.last_error = describe_failure(exc)
        else:
            job.status = COMPLETED
        return True


class MutatingWorkerPool:
    """Mistake 1 at full size: ``WorkerPool``'s shape, with workers that change records directly.

    It takes the same keywords and has the same methods (``start``, ``submit``, ``wait``,
    ``stop``, and ``with``), so the dashboard can run it in place of the real pool. Its sweeper
    also sets records back to pending by itself, and its queue does not mind duplicates.
    Whether one run shows the damage depends on timing; the scenarios below force it instead.
    ``stop`` waits at most ``stop_timeout`` seconds for the threads, then returns anyway.
    Correct counterpart: ``WorkerPool``.
    """

    stop_timeout = 5.0

    def __init__(
        self,
        *,
        workers: int = 4,
        handler: Handler | None = None,
        sweeper_interval: float = 0.05,
        queue_capacity: int = 100,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        if handler is not None and not callable(handler):
            raise TypeError(f"handler must be callable with a job, got {handler!r}")
        if not _is_number(sweeper_interval) or sweeper_interval < 0:
            raise ValueError(
                f"sweeper interval must be a number of seconds >= 0, got {sweeper_interval!r}"
            )
        if isinstance(queue_capacity, bool) or not isinstance(queue_capacity, int):
            raise ValueError(f"queue_capacity must be an int >= 1, got {queue_capacity!r}")
        if queue_capacity < 1:
            raise ValueError(f"queue_capacity must be an int >= 1, got {queue_capacity!r}")
        self.store = LiveRecordStore()
        self.sweeper_interval = float(sweeper_interval)
        self.queue_capacity = queue_capacity
        self._ids: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self.workers = [
            MutatingWorker(f"worker-{n}", self.store, handler or simulated_work(), self._take)
            for n in range(1, workers + 1)
        ]
        self.sweeper = threading.Thread(target=self._sweep, name="sweeper", daemon=True)
        self._started = False
        self._stopped = False
        self._lifecycle = threading.Lock()

    def start(self) -> MutatingWorkerPool:
        """Start the workers and the sweeper (entering the ``with`` block does this)."""
        with self._lifecycle:
            if self._stopped:
                raise RuntimeError("this pool was stopped; make a new MutatingWorkerPool")
            if not self._started:
                self._started = True
                for worker in self.workers:
                    worker.start()
                self.sweeper.start()
        return self

    def submit(
        self, type: str, payload: Mapping[str, Any] | None = None, *, max_retries: int = 3
    ) -> JobRecord:
        """Create a job and queue its id; if the queue is full, the sweeper queues it later."""
        job = self.store.create_job(type, payload, max_retries=max_retries)
        self._put(job.id)
        return job

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every job is settled; False if ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(self.store.all_settled, timeout)

    def stop(self) -> None:
        """Stop the sweeper and the workers; each finishes the job it holds, then exits."""
        with self._lifecycle:
            self._stopped = True
            self._stopping.set()
            for _ in self.workers:
                self._ids.put(None)
            if not self._started:
                return
        deadline = time.monotonic() + self.stop_timeout
        for thread in [self.sweeper, *self.workers]:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> MutatingWorkerPool:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running" if self._started else "not started"
        return f"<MutatingWorkerPool {len(self.workers)} workers, {state}>"

    def _put(self, job_id: str) -> bool:
        if self._ids.qsize() >= self.queue_capacity:
            return False
        self._ids.put(job_id)
        return True

    def _take(self) -> str | None:
        with self._changed:
            self._changed.notify_all()  # a worker asks for more only when its last job is done
        job_id = self._ids.get()
        return None if self._stopping.is_set() else job_id

    def _sweep(self) -> None:
        pause = max(self.sweeper_interval, 0.001)  # even "at once" must let the workers run
        while not self._stopping.wait(pause):
            for record in self.store.list_jobs(FAILED):
                if record.can_retry:
                    record.status = PENDING
            for record in self.store.list_jobs(PENDING):
                self._put(record.id)
            with self._changed:
                self._changed.notify_all()


# --- a plain store, and the stores that each get one method wrong ---------------------------


class PlainStore:
    """A store cut down to the chapter's Go store: frozen snapshots in a dict, and one lock.

    Like ``InMemoryJobStore`` it checks the transition table, saves each change once, and
    retries failed jobs within their limit. It keeps no audit log, and, like the chapter's
    store, it does not insist that a failure says why. It has no leases or fencing either (those
    come in notebook 08): it takes the keywords a ``Worker`` passes for them, and ignores them.
    Each broken store below copies one of its methods and gets that one thing wrong, so the two
    read side by side show the mistake.
    """

    lease_seconds = math.inf  # no leases: a claim never runs out

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._new_id = sequential_ids()
        self._jobs: dict[str, Job] = {}

    def create_job(
        self, type: str, payload: Mapping[str, Any] | None = None, *, max_retries: int = 3
    ) -> Job:
        frozen = freeze_payload(payload or {})
        with self._lock:
            job = Job(
                id=self._new_id(),
                type=type,
                status=PENDING,
                payload=frozen,
                max_retries=max_retries,
            )
            self._jobs[job.id] = job
            return job

    def get_job(self, job_id: str) -> Job:
        with self._lock:
            return self._get(job_id)

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        wanted = None if status is None else parse_status(status)
        with self._lock:
            return [job for job in self._jobs.values() if wanted is None or job.status is wanted]

    def get_pending_jobs(self) -> list[Job]:
        return self.list_jobs(PENDING)

    def pending_ids(self, limit: int | None = None) -> list[str]:
        return [job.id for job in self.list_jobs(PENDING)][:limit]

    def get_failed_jobs(self) -> list[Job]:
        return self.list_jobs(FAILED)

    def claim_job(self, job_id: str, **_lease: object) -> Job | None:
        """Pending -> processing, counting the attempt; ``None`` if the job is not pending."""
        with self._lock:
            job = self._get(job_id)
            if job.status is not PENDING:
                return None
            claimed = replace(job, status=PROCESSING, attempts=job.attempts + 1)
            self._jobs[job_id] = claimed
            return claimed

    def update_status(
        self, job_id: str, status: JobStatus | str, last_error: str | None = None, **_claim: object
    ) -> Job:
        """Check the table, set status and error together, then save once."""
        to_status = parse_status(status)
        with self._lock:
            job = self._get(job_id)
            if not can_transition(job.status, to_status):
                raise InvalidTransition(job_id, job.status, to_status)
            updated = replace(job, status=to_status, last_error=last_error or job.last_error)
            self._jobs[job_id] = updated
            return updated

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Failed jobs with attempts left go back to pending (``actor`` is ignored: no log)."""
        with self._lock:
            retried = [replace(job, status=PENDING) for job in self._jobs.values() if job.can_retry]
            self._jobs.update((job.id, job) for job in retried)
            return retried

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        """Nothing to recover: without leases, a lost worker's job stays processing."""
        return []

    def renew_lease(self, job_id: str, claim: int, **_lease: object) -> Job:
        """A heartbeat has nothing to renew."""
        return self.get_job(job_id)

    def release_job(self, job_id: str, claim: int, **_actor: object) -> Job:
        """Back to pending, the attempt not counted, whoever asks."""
        with self._lock:
            job = self._get(job_id)
            released = replace(job, status=PENDING, attempts=job.attempts - 1)
            self._jobs[job_id] = released
            return released

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise JobNotFound(job_id) from None


class SaveTooEarlyStore(PlainStore):
    """Mistake 3: ``update_status`` saves the job, then sets ``last_error`` on a copy nobody saves.

    The caller even gets that copy back, error and all, and believes the failure was recorded;
    the stored job says "failed" and nothing more. Correct counterpart:
    ``InMemoryJobStore.update_status`` (and ``PlainStore.update_status``), which set every field
    first and save once.
    """

    def update_status(
        self, job_id: str, status: JobStatus | str, last_error: str | None = None, **_claim: object
    ) -> Job:
        to_status = parse_status(status)
        with self._lock:
            job = self._get(job_id)
            if not can_transition(job.status, to_status):
                raise InvalidTransition(job_id, job.status, to_status)
            job = replace(job, status=to_status)
            self._jobs[job_id] = job
            if last_error is not None:
                job = replace(job, last_error=last_error)  # set after the save: never stored
            return job


class UnlockedStore(PlainStore):
    """Atomic updates, missing: ``claim_job`` reads, decides and writes without taking the lock.

    Two workers claiming one job can both read "pending, 0 attempts", both decide the job is
    theirs, and both write "processing, 1 attempt". The job runs twice and one attempt is lost,
    because the second write replaces the first instead of adding to it. ``race_window`` is
    called between the read and the write. Correct counterpart: ``InMemoryJobStore.claim_job``,
    which reads, decides and writes under one lock, so a second claim cannot start in between.
    """

    def __init__(self, *, race_window: Hook = carry_on) -> None:
        super().__init__()
        self._race_window = race_window

    def claim_job(self, job_id: str, **_lease: object) -> Job | None:
        job = self._get(job_id)
        if job.status is not PENDING:
            return None
        self._race_window(job)
        claimed = replace(job, status=PROCESSING, attempts=job.attempts + 1)
        self._jobs[job_id] = claimed
        return claimed


class NoRetryLimitStore(PlainStore):
    """No retry limit: the retry step the sweeper runs sends *every* failed job back to pending.

    Without the ``attempts < max_retries`` check a job that can never succeed is retried on
    every sweep, forever. Correct counterpart: ``InMemoryJobStore.retry_failed_jobs`` (called by
    ``Sweeper.sweep_once``), which retries only jobs with attempts left.
    """

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        with self._lock:
            retried = [
                replace(job, status=PENDING) for job in self._jobs.values() if job.status is FAILED
            ]
            self._jobs.update((job.id, job) for job in retried)
            return retried


# --- workers that signal the wrong thing --------------------------------------------------


class ForgetfulWorker(Worker):
    """Mistake 2: it reports that a job failed, but not why, so ``last_error`` stays ``None``.

    A store that does not insist (``PlainStore``, like the chapter's store) records a failure
    that explains nothing. ``InMemoryJobStore`` refuses such a report with ``ValueError``.
    Correct counterpart: ``Worker``, which sends ``describe_failure(exc)`` with every failure.
    """

    def process(self, job: Job) -> None:
        try:
            self._handler(job)
        except Exception:
            self._store.update_status(job.id, FAILED)
        else:
            self._store.update_status(job.id, COMPLETED)


class SelfRetryingWorker(Worker):
    """A worker that retries by itself: when the handler fails, it runs it again at once.

    There is no pause, no sweeper and no look at ``max_retries``: the store sees one attempt
    while the handler runs up to ``tries`` times in a burst, so the store's limit multiplies
    the runs instead of limiting them. (In the wild this loop is often ``while True``; ``tries``
    keeps the demo finite.) Correct counterpart: ``Worker``, which reports the failure once and
    leaves retrying to the ``Sweeper``, paced by its interval and bounded by the store.
    """

    def __init__(self, *args: Any, tries: int = 20, **kwargs: Any) -> None:
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ValueError(f"tries must be an int >= 1, got {tries!r}")
        super().__init__(*args, **kwargs)
        self.tries = tries

    def process(self, job: Job) -> None:
        for _ in range(self.tries):
            try:
                self._handler(job)
            except Exception as exc:
                error = describe_failure(exc)
            else:
                self._store.update_status(job.id, COMPLETED)
                return
        self._store.update_status(job.id, FAILED, error)


# --- reading last_error, and simulating failure ---------------------------------------------


def error_lines_unchecked(jobs: Iterable[JobLike]) -> Iterator[str]:
    """Mistake 4: one line per job with the first line of its error, assuming there is one.

    ``last_error`` is ``None`` for a job that has not failed, so this crashes with
    ``AttributeError`` at the first such job (Go panics on the nil pointer the same way).
    Correct counterpart: ``error_lines``.
    """
    for job in jobs:
        yield f"{job.id}: {job.last_error.splitlines()[0]}"


def error_lines(jobs: Iterable[JobLike]) -> Iterator[str]:
    """One line per job with the first line of its error, or "no error" when it has none."""
    for job in jobs:
        reason = "no error" if job.last_error is None else job.last_error.splitlines()[0]
        yield f"{job.id}: {reason}"


class RandomFailure:
    """Mistake 5: a failure policy that flips a coin, with ``random.Random()`` and no seed.

    Each run fails different jobs, so a lesson shows something different every time, a test
    that passed may fail on the next run, and a retry that "fixed" a job may only have been
    lucky. Correct counterpart: the policies in ``failures`` (``fail_by_type`` and the rest),
    which decide from the job alone.
    """

    def __init__(self, rate: float = 0.5) -> None:
        if not _is_number(rate) or not 0 < rate < 1:
            raise ValueError(f"rate must be a number between 0 and 1, got {rate!r}")
        self.rate = float(rate)
        self._random = random.Random()

    def __call__(self, job: JobLike) -> str | None:
        if self._random.random() < self.rate:
            return "the coin came up 'fail'"
        return None

    def __repr__(self) -> str:
        return f"RandomFailure(rate={self.rate})"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
