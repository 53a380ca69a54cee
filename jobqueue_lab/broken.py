"""The deliberately broken variants, and scenarios that run each one beside the correct pattern.

Every class or function in the first half of this module makes one mistake on purpose; its
docstring names the mistake (numbered as in the chapter's "common mistakes") and the correct
counterpart elsewhere in the package. The second half runs each mistake and its counterpart
under the same conditions and reports what happened, as plain data.

A broken variant that only *sometimes* misbehaves teaches nothing, so nothing here waits for a
race to happen by luck. The broken code takes a hook at its race window (between its read and
its write), and a scenario passes a ``Barrier`` or ``Event`` there, so the bad interleaving
happens on every run. The correct counterpart is held at the same moment and stays correct,
because its store leaves no window: the check and the change are one step under one lock.

The evidence never comes from the broken component's own bookkeeping. It comes from what the
handlers saw (``RunLog``), from an outside observer (``Witness``), from the jobs as they ended,
or from the real store's audit log, and ``checks.find_violations`` judges it.
"""

from __future__ import annotations

import itertools
import queue
import random
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from .audit import Transition
from .checks import INVARIANTS, JobLike, RunLog, Violation, Witness, find_violations
from .domain import EMPTY_PAYLOAD, Job, JobStatus, can_transition, freeze_payload, parse_status
from .errors import InvalidTransition, JobNotFound
from .failures import FailurePolicy, SimulatedFailure, fail_by_type, simulated_work
from .store import (
    InMemoryJobStore,
    _check_job_type,
    _check_max_retries,
    _checked_payload,
    sequential_ids,
)
from .sweeper import Sweeper
from .work_queue import WorkQueue
from .worker import Handler, Worker, describe_failure

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
        _check_job_type(type)
        _check_max_retries(max_retries)
        frozen = EMPTY_PAYLOAD if payload is None else _checked_payload(payload)
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
        self.jobs_run += 1
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
    store, it does not insist that a failure says why. Each broken store below copies one of
    its methods and gets that one thing wrong, so the two read side by side show the mistake.
    """

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

    def claim_job(self, job_id: str) -> Job | None:
        """Pending -> processing, counting the attempt; ``None`` if the job is not pending."""
        with self._lock:
            job = self._get(job_id)
            if job.status is not PENDING:
                return None
            claimed = replace(job, status=PROCESSING, attempts=job.attempts + 1)
            self._jobs[job_id] = claimed
            return claimed

    def update_status(
        self, job_id: str, status: JobStatus | str, last_error: str | None = None
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
        self, job_id: str, status: JobStatus | str, last_error: str | None = None
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

    def claim_job(self, job_id: str) -> Job | None:
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
        self.jobs_run += 1
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
        self.jobs_run += 1
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


# --- what the scenarios return --------------------------------------------------------------

BROKEN, CORRECT = "broken", "correct"
WORKERS = ("worker-1", "worker-2")

DEFAULT_TIMEOUT = 5.0
"""The longest a scenario waits for any one step before it gives up with ``TimeoutError``.
A healthy run needs a small fraction of it; it is there so a bug can never hang a notebook."""

CRASHED_READING_ERROR = "crashed reading last_error"
OUTCOME_CHANGED = "outcome changed between runs"
RETRY_STORM = "retried without the sweeper"


@dataclass(frozen=True)
class JobRow:
    """One job as a scenario reports it: the same six fields on either side, and no timestamp."""

    id: str
    type: str
    status: str
    attempts: int
    max_retries: int
    last_error: str | None

    @classmethod
    def of(cls, job: JobLike) -> JobRow:
        status = parse_status(job.status).value
        return cls(job.id, job.type, status, job.attempts, job.max_retries, job.last_error)


@dataclass(frozen=True)
class SideResult:
    """What one side of a scenario showed.

    ``evidence`` holds the rules it broke, as ``Violation`` rows (empty when clean); ``defect``
    says in plain words what went wrong ("" when nothing did); ``jobs`` are the jobs at the end;
    ``output`` is what the side printed or reported; ``runs`` is used only by the scenarios that
    repeat a run: the status of every job, run by run.
    """

    side: str
    variant: str
    evidence: tuple[Violation, ...]
    defect: str
    jobs: tuple[JobRow, ...] = ()
    output: tuple[str, ...] = ()
    runs: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ScenarioResult:
    """One mistake and its correct counterpart, run under the same conditions."""

    scenario: str
    mistake: str
    broken: SideResult
    correct: SideResult
    notes: tuple[str, ...] = ()

    @property
    def sides(self) -> tuple[SideResult, SideResult]:
        return (self.broken, self.correct)


def _broken_side(
    variant: str, evidence: Iterable[Violation], defect: str, **shown: Any
) -> SideResult:
    evidence = _in_order(evidence)
    return SideResult(BROKEN, variant, evidence, defect if evidence else "", **shown)


def _correct_side(variant: str, evidence: Iterable[Violation], **shown: Any) -> SideResult:
    evidence = _in_order(evidence)
    defect = "; ".join(dict.fromkeys(v.invariant for v in evidence))
    return SideResult(CORRECT, variant, evidence, defect, **shown)


def _in_order(evidence: Iterable[Violation]) -> tuple[Violation, ...]:
    """Sort as the checker does: by rule, then job; rows a scenario adds come after its rules."""
    rank = {name: n for n, name in enumerate(INVARIANTS)}
    return tuple(sorted(evidence, key=lambda v: (rank.get(v.invariant, len(rank)), v.job_id or "")))


def _rows(jobs: Iterable[JobLike]) -> tuple[JobRow, ...]:
    return tuple(JobRow.of(job) for job in jobs)


# --- the scenarios' instruments -------------------------------------------------------------


def _run_threads(targets: Mapping[str, Callable[[], object]], timeout: float) -> None:
    """Run each target on its own thread, named by its key, and wait for all of them.

    An exception on any thread is raised here, in the caller, instead of being printed, and a
    thread still running after ``timeout`` seconds raises ``TimeoutError``: no demo can hang.
    """
    errors: list[BaseException] = []

    def guarded(target: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [
        threading.Thread(target=guarded(target), name=name, daemon=True)
        for name, target in targets.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise TimeoutError(f"{', '.join(stuck)} still running after {timeout} s")
    if errors:
        raise errors[0]


def _wait_for(event: threading.Event, timeout: float, what: str) -> None:
    if not event.wait(timeout):
        raise TimeoutError(f"gave up after {timeout} s waiting for {what}")


def _read_until_failed(read: Callable[[], Job], timeout: float) -> Job:
    """Read the job again and again until it shows "failed", and return that reading."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while (job := read()).status is not FAILED:
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {job.id} to fail")
        pause.wait(0.0005)
    return job


def _real_worker(name: str, store: InMemoryJobStore, handler: Handler) -> Worker:
    """A real ``Worker``, to call ``process`` on directly with a job already claimed."""
    return Worker(name, store, WorkQueue(store), handler, threading.Event())


def _work_off(
    store: Any,
    handler: Handler,
    job_ids: Iterable[str],
    *,
    timeout: float,
    worker: Callable[..., Worker] = Worker,
) -> None:
    """Put ``job_ids`` on a real ``WorkQueue`` and run one worker's real loop until it is empty."""
    job_ids = list(job_ids)
    work = WorkQueue(store, capacity=max(len(job_ids), 1))
    for job_id in job_ids:
        work.put(job_id)
    work.wake(1)
    thread = worker("worker-1", store, work, handler, threading.Event())
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"worker-1 still running after {timeout} s")


def _sweep_and_work(
    store: Any,
    handler: Handler,
    *,
    sweeps: int,
    timeout: float,
    log: RunLog | None = None,
    worker: Callable[..., Worker] = Worker,
) -> list[str]:
    """Sweep, then work off what the sweep queued; ``sweeps`` times. Returns a line per sweep."""
    queued: list[str] = []

    def enqueue(job_id: str) -> bool:
        queued.append(job_id)
        return True

    sweeper = Sweeper(store, enqueue)
    lines = []
    for number in range(1, sweeps + 1):
        if log is not None:
            log.sweep()
        report = sweeper.sweep_once()
        lines.append(f"sweep {number}: retried {', '.join(report.retried) or 'nothing'}")
        batch, queued[:] = list(queued), []
        _work_off(store, handler, batch, timeout=timeout, worker=worker)
    return lines


def _create(store: Any, jobs: Iterable[tuple[str, dict]], *, max_retries: int) -> list[str]:
    return [store.create_job(kind, payload, max_retries=max_retries).id for kind, payload in jobs]


MIXED_JOBS = (
    ("email", {"to": "ada@example.org"}),
    ("report", {"month": "2024-05"}),
    ("email", {"to": "grace@example.org"}),
)
EMAILS_FAIL = simulated_work(fail=fail_by_type("email"))


def _checked_timeout(timeout: object) -> float:
    if not _is_number(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- scenario: the worker mutates state (mistake 1) -----------------------------------------


class _LiveRecordSide:
    """Mistake 1's broken side: a ``LiveRecordStore`` whose records ``MutatingWorker``s change."""

    variant = "MutatingWorker on LiveRecordStore"

    def __init__(self) -> None:
        self.store = LiveRecordStore()
        self.witness = Witness()

    def read(self, job_id: str) -> Job:
        return self.store.get_job(job_id).snapshot()

    def deliver(
        self,
        name: str,
        job_id: str,
        handler: Handler,
        *,
        hold: Hook = carry_on,
        between_writes: Hook = carry_on,
    ) -> bool:
        """Worker ``name`` gets ``job_id``; ``hold`` runs in its race window, after its check."""
        worker = MutatingWorker(
            name, self.store, handler, race_window=hold, between_writes=between_writes
        )
        return worker.process(self.store.get_job(job_id))

    def transitions(self) -> list[Transition]:
        return self.witness.transitions()


class _SnapshotStoreSide:
    """Mistake 1's correct side: an ``InMemoryJobStore`` and real ``Worker``s that signal it."""

    variant = "Worker on InMemoryJobStore"

    def __init__(self) -> None:
        self.store = InMemoryJobStore()
        self.witness = Witness()

    def read(self, job_id: str) -> Job:
        return self.store.get_job(job_id)

    def deliver(
        self,
        name: str,
        job_id: str,
        handler: Handler,
        *,
        hold: Hook = carry_on,
        between_writes: Hook = carry_on,
    ) -> bool:
        """Worker ``name`` gets ``job_id``. ``claim_job`` has no inside to hold a worker in, so
        ``hold`` runs just before it; there is no moment between two writes, so
        ``between_writes`` is never called."""
        hold(self.read(job_id))
        job = self.store.claim_job(job_id)
        if job is None:
            return False
        _real_worker(name, self.store, handler).process(job)
        return True

    def transitions(self) -> list[Transition]:
        return self.store.transitions()


def scenario_worker_mutates_state(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 1, three ways, each job in its own act:

    - job-001: one id is handed to two workers at the same moment;
    - job-002: worker-2 checks the job, is held, and goes on after worker-1 has finished it;
    - job-003: a reader looks at the job as soon as it shows "failed".
    """
    timeout = _checked_timeout(timeout)
    broken, correct = _LiveRecordSide(), _SnapshotStoreSide()
    return ScenarioResult(
        "worker mutates state",
        "mistake 1: worker directly mutates state",
        _broken_side(
            broken.variant,
            _three_acts(broken, timeout),
            "two workers ran one job at once; a finished job was taken again; "
            "a reader saw a failure with no reason",
            jobs=_rows(broken.store.list_jobs()),
        ),
        _correct_side(
            correct.variant,
            _three_acts(correct, timeout),
            jobs=_rows(correct.store.list_jobs()),
        ),
    )


def _three_acts(side: _LiveRecordSide | _SnapshotStoreSide, timeout: float) -> list[Violation]:
    store, witness = side.store, side.witness
    report = store.create_job("report", {"month": "2024-05"}).id
    first_email = store.create_job("email", {"to": "ada@example.org"}).id
    second_email = store.create_job("email", {"to": "grace@example.org"}).id
    for job_id in (report, first_email, second_email):
        witness.saw(side.read(job_id), "scenario")
    log = RunLog(witness)
    _same_id_at_once(side, report, log, timeout)
    _acting_on_an_old_check(side, first_email, log, timeout)
    half_seen = _looking_at_a_failure(side, second_email, log, timeout)
    found = find_violations(
        store.list_jobs(), side.transitions(), handler_runs=log.runs, expect_settled=False
    )
    return found + half_seen


def _same_id_at_once(side: Any, job_id: str, log: RunLog, timeout: float) -> None:
    """Act (a): both workers get the id at once; the broken ones are held after their check until
    both have checked. The handler holds every run until both workers have had their turn, so
    two runs of the job, if there are two, overlap; a worker that was refused takes its turn
    without running."""
    both_checked = threading.Barrier(2, timeout=timeout)
    turns = threading.Barrier(2, timeout=timeout)
    handler = log.watch(lambda job: turns.wait())

    def worker(name: str) -> None:
        if not side.deliver(name, job_id, handler, hold=lambda job: both_checked.wait()):
            turns.wait()
        side.witness.saw(side.read(job_id))

    _run_threads({name: partial(worker, name) for name in WORKERS}, timeout)


def _acting_on_an_old_check(side: Any, job_id: str, log: RunLog, timeout: float) -> None:
    """Act (b): worker-2 is handed the id first but held; worker-1 then sends the email, start to
    finish; then worker-2 goes on. Sending the same email twice fails as a duplicate."""
    handler = log.watch(_send_once())
    held, first_done = threading.Event(), threading.Event()

    def hold(job: object) -> None:
        held.set()
        _wait_for(first_done, timeout, "worker-1 to finish")

    def second() -> None:
        side.deliver("worker-2", job_id, handler, hold=hold)
        side.witness.saw(side.read(job_id))

    def first() -> None:
        try:
            _wait_for(held, timeout, "worker-2 to be held")
            side.deliver("worker-1", job_id, handler)
            side.witness.saw(side.read(job_id))
        finally:
            first_done.set()

    _run_threads({"worker-2": second, "worker-1": first}, timeout)


def _looking_at_a_failure(side: Any, job_id: str, log: RunLog, timeout: float) -> list[Violation]:
    """Act (c): the job fails; a reader waits until it shows "failed" and reads it then. The
    broken worker is held between its two assignments until the reader has looked."""
    looked = threading.Event()
    seen: list[Job] = []

    def until_looked(job: object) -> None:
        _wait_for(looked, timeout, "the reader to look")

    def work() -> None:
        side.deliver("worker-1", job_id, log.watch(EMAILS_FAIL), between_writes=until_looked)
        side.witness.saw(side.read(job_id))

    def read() -> None:
        try:
            seen.append(_read_until_failed(lambda: side.read(job_id), timeout))
        finally:
            looked.set()

    _run_threads({"worker-1": work, "reader": read}, timeout)
    return [
        Violation(v.invariant, v.job_id, f"a reader saw it half-written: {v.detail}")
        for v in find_violations(seen, expect_settled=False)
    ]


def _send_once() -> Handler:
    """A handler for an email that must go out once: sending the same job again fails."""
    sent: set[str] = set()
    lock = threading.Lock()

    def send(job: Any) -> None:
        with lock:
            if job.id in sent:
                raise SimulatedFailure(f"duplicate: {job.id} was already sent")
            sent.add(job.id)

    return send


# --- scenario: failed with no reason (mistake 2) --------------------------------------------


def scenario_failed_without_reason(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 2: the same jobs, one worker that says why a job failed and one that does not."""
    timeout = _checked_timeout(timeout)
    plain, real = PlainStore(), InMemoryJobStore()
    ids = _create(plain, MIXED_JOBS, max_retries=1)
    _create(real, MIXED_JOBS, max_retries=1)
    _work_off(plain, EMAILS_FAIL, ids, timeout=timeout, worker=ForgetfulWorker)
    _work_off(real, EMAILS_FAIL, ids, timeout=timeout)
    return ScenarioResult(
        "failed with no reason",
        "mistake 2: not setting last_error",
        _broken_side(
            "ForgetfulWorker on PlainStore",
            find_violations(plain.list_jobs(), created=ids),
            "failed jobs do not say why they failed",
            jobs=_rows(plain.list_jobs()),
        ),
        _correct_side(
            "Worker on InMemoryJobStore",
            find_violations(real.list_jobs(), real.transitions()),
            jobs=_rows(real.list_jobs()),
        ),
        notes=_real_store_refuses_a_failure_without_reason(),
    )


def _real_store_refuses_a_failure_without_reason() -> tuple[str, ...]:
    store = InMemoryJobStore()
    job_id = store.create_job("email", {"to": "ada@example.org"}, actor="scenario").id
    store.claim_job(job_id, actor="worker-1")
    try:
        store.update_status(job_id, FAILED, actor="worker-1")
    except ValueError as exc:
        refusal = describe_failure(exc)
    else:
        raise AssertionError("InMemoryJobStore accepted a failure with no last_error")
    [entry] = [t for t in store.transitions() if not t.accepted]
    return (
        f"Sent to InMemoryJobStore, the same report is refused: {refusal}",
        f"Its audit log records the refusal ({entry.job_id}: {entry.from_status} -> "
        f"{entry.to_status}, refused), and {job_id} is still {store.get_job(job_id).status}.",
    )


# --- scenario: saved before the error was set (mistake 3) -----------------------------------


def scenario_saved_before_error(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 3: the same worker and jobs, on a store that saves too early and on the real one."""
    timeout = _checked_timeout(timeout)
    early, real = SaveTooEarlyStore(), InMemoryJobStore()
    ids = _create(early, MIXED_JOBS, max_retries=1)
    _create(real, MIXED_JOBS, max_retries=1)
    _work_off(early, EMAILS_FAIL, ids, timeout=timeout)
    _work_off(real, EMAILS_FAIL, ids, timeout=timeout)
    return ScenarioResult(
        "saved before the error",
        "mistake 3: not saving after setting last_error",
        _broken_side(
            "Worker on SaveTooEarlyStore",
            find_violations(early.list_jobs(), created=ids),
            "the reason was set after the save, and lost",
            jobs=_rows(early.list_jobs()),
        ),
        _correct_side(
            "Worker on InMemoryJobStore",
            find_violations(real.list_jobs(), real.transitions()),
            jobs=_rows(real.list_jobs()),
        ),
        notes=_what_the_caller_was_told(),
    )


def _what_the_caller_was_told() -> tuple[str, ...]:
    store = SaveTooEarlyStore()
    job_id = store.create_job("email").id
    store.claim_job(job_id)
    told = store.update_status(job_id, FAILED, "SMTPError: mailbox full")
    return (
        f"update_status handed back {job_id} with last_error {told.last_error!r}; "
        f"the stored {job_id} has last_error {store.get_job(job_id).last_error!r}.",
    )


# --- scenario: reading a missing error (mistake 4) ------------------------------------------


def scenario_reading_missing_error(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 4: two reports of the same finished jobs, one that checks for ``None``."""
    timeout = _checked_timeout(timeout)
    store = InMemoryJobStore()
    _work_off(store, EMAILS_FAIL, _create(store, MIXED_JOBS, max_retries=1), timeout=timeout)
    jobs = store.list_jobs()
    unchecked_lines, unchecked_evidence = _read_report(error_lines_unchecked(jobs), jobs)
    checked_lines, checked_evidence = _read_report(error_lines(jobs), jobs)
    return ScenarioResult(
        "missing error read",
        "mistake 4: using last_error without checking for None",
        _broken_side(
            "error_lines_unchecked",
            unchecked_evidence,
            "the report crashed on a job with no error",
            jobs=_rows(jobs),
            output=unchecked_lines,
        ),
        _correct_side("error_lines", checked_evidence, jobs=_rows(jobs), output=checked_lines),
    )


def _read_report(lines: Iterator[str], jobs: list[Job]) -> tuple[tuple[str, ...], list[Violation]]:
    """Every line the report gives, and a piece of evidence if it crashed before the end."""
    read: list[str] = []
    try:
        read.extend(lines)
    except Exception as exc:
        crash = describe_failure(exc)
        return (*read, f"crashed: {crash}"), [
            Violation(CRASHED_READING_ERROR, jobs[len(read)].id, crash)
        ]
    return tuple(read), []


# --- scenario: random failure simulation (mistake 5) ----------------------------------------

RANDOM_RUNS = 3
RANDOM_RUN_JOBS = 64
"""Each run decides 64 independent fair coins, so two runs agree with probability 2**-64, and
some two of three runs agree with probability at most 3 * 2**-64 (about 1.6e-19). The broken
side differs on every run "for certain" in that sense; nothing else here depends on chance."""


def scenario_random_failure(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 5: the same 64 jobs, three runs with a coin-flip policy and three with a fixed one.

    The jobs of each run are not listed (they would differ every time the notebook ran);
    ``runs`` holds every job's status, run by run, for a chart.
    """
    timeout = _checked_timeout(timeout)
    coin_runs = tuple(_one_run(RandomFailure(), timeout) for _ in range(RANDOM_RUNS))
    fixed_runs = tuple(_one_run(fail_by_type("email"), timeout) for _ in range(RANDOM_RUNS))
    return ScenarioResult(
        "random failures",
        "mistake 5: random failure simulation",
        _broken_side(
            "RandomFailure (unseeded)",
            _differences(coin_runs),
            "the same scenario failed different jobs on every run",
            output=_distinct_outcomes(coin_runs),
            runs=coin_runs,
        ),
        _correct_side(
            'fail_by_type("email")',
            _differences(fixed_runs),
            output=_distinct_outcomes(fixed_runs),
            runs=fixed_runs,
        ),
    )


def _one_run(policy: FailurePolicy, timeout: float) -> tuple[str, ...]:
    kinds = ("email", "report", "resize", "invoice")
    store = InMemoryJobStore()
    jobs = [(kinds[n % len(kinds)], {"n": n}) for n in range(RANDOM_RUN_JOBS)]
    ids = _create(store, jobs, max_retries=1)
    _work_off(store, simulated_work(fail=policy), ids, timeout=timeout)
    return tuple(job.status.value for job in store.list_jobs())


def _differences(runs: tuple[tuple[str, ...], ...]) -> list[Violation]:
    return [
        Violation(OUTCOME_CHANGED, None, f"run {a + 1} and run {b + 1} failed different jobs")
        for a, b in itertools.combinations(range(len(runs)), 2)
        if runs[a] != runs[b]
    ]


def _distinct_outcomes(runs: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    return (f"{len(runs)} runs of {len(runs[0])} jobs: {len(set(runs))} different outcome(s)",)


# --- scenario: no lock (atomic state updates) -----------------------------------------------


def scenario_no_lock(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Atomic updates: two workers claim each of three jobs at the same moment, on a store
    without a lock and on the real store."""
    timeout = _checked_timeout(timeout)
    unlocked = UnlockedStore(race_window=_meeting_point(timeout))
    real = InMemoryJobStore()
    unlocked_log = _claim_each_job_at_once(unlocked, before_claim=carry_on, timeout=timeout)
    real_log = _claim_each_job_at_once(real, before_claim=_meeting_point(timeout), timeout=timeout)
    return ScenarioResult(
        "no lock",
        "atomic updates: read-modify-write with no lock",
        _broken_side(
            "UnlockedStore",
            find_violations(unlocked.list_jobs(), handler_runs=unlocked_log.runs),
            "both workers claimed each job, and one attempt was lost",
            jobs=_rows(unlocked.list_jobs()),
        ),
        _correct_side(
            "InMemoryJobStore",
            find_violations(real.list_jobs(), real.transitions(), handler_runs=real_log.runs),
            jobs=_rows(real.list_jobs()),
        ),
    )


def _meeting_point(timeout: float) -> Hook:
    """A hook that holds each of two workers until both have reached it."""
    both_there = threading.Barrier(2, timeout=timeout)
    return lambda job: both_there.wait()


def _claim_each_job_at_once(store: Any, *, before_claim: Hook, timeout: float) -> RunLog:
    """Three jobs, each handed to both workers at once. The unlocked store holds them at its
    race window, inside ``claim_job``; the real store's claim has no inside to hold anyone in,
    so ``before_claim`` holds them just before it. As in mistake 1, the handler holds every run
    until both workers have had their turn, and a worker that was refused takes its turn
    without running."""
    log = RunLog()
    for job_id in _create(store, [("report", {"n": n}) for n in range(1, 4)], max_retries=3):
        _claim_at_once(store, job_id, log, before_claim=before_claim, timeout=timeout)
    return log


def _claim_at_once(store: Any, job_id: str, log: RunLog, *, before_claim: Hook, timeout: float):
    turns = threading.Barrier(2, timeout=timeout)
    handler = log.watch(lambda job: turns.wait())

    def worker() -> None:
        before_claim(None)
        job = store.claim_job(job_id)
        if job is None:
            turns.wait()
            return
        handler(job)
        with suppress(InvalidTransition):  # the other worker may have finished it first
            store.update_status(job_id, COMPLETED)

    _run_threads(dict.fromkeys(WORKERS, worker), timeout)


# --- scenario: no retry limit ---------------------------------------------------------------

RETRY_SWEEPS = 8


def scenario_no_retry_limit(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Retries: an email that always fails, swept eight times, with and without the limit."""
    timeout = _checked_timeout(timeout)
    broken, correct = NoRetryLimitStore(), InMemoryJobStore()
    ids = _create(broken, MIXED_JOBS[:2], max_retries=3)
    _create(correct, MIXED_JOBS[:2], max_retries=3)
    sweep = partial(_sweep_and_work, handler=EMAILS_FAIL, sweeps=RETRY_SWEEPS, timeout=timeout)
    broken_lines, correct_lines = sweep(broken), sweep(correct)
    return ScenarioResult(
        "no retry limit",
        "retry logic: no attempts < max_retries check",
        _broken_side(
            "Sweeper on NoRetryLimitStore",
            find_violations(broken.list_jobs(), created=ids),
            "a failed job was retried past its limit, on every sweep",
            jobs=_rows(broken.list_jobs()),
            output=tuple(broken_lines),
        ),
        _correct_side(
            "Sweeper on InMemoryJobStore",
            find_violations(correct.list_jobs(), correct.transitions()),
            jobs=_rows(correct.list_jobs()),
            output=tuple(correct_lines),
        ),
    )


# --- scenario: the worker retries by itself -------------------------------------------------

STORM_SWEEPS = 5
STORM_TRIES = 20


def scenario_worker_retries_itself(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """The sweeper pattern: the same jobs and sweeps, with a worker that retries at once and
    with the real worker that leaves retrying to the sweeper."""
    timeout = _checked_timeout(timeout)
    broken_evidence, broken = _sweep_with(partial(SelfRetryingWorker, tries=STORM_TRIES), timeout)
    correct_evidence, correct = _sweep_with(Worker, timeout)
    return ScenarioResult(
        "worker retries itself",
        "sweeper pattern: the worker retries instead of the sweeper",
        _broken_side(
            f"SelfRetryingWorker(tries={STORM_TRIES})",
            broken_evidence,
            "a failing job ran in bursts, at once and past its limit",
            jobs=_rows(broken.list_jobs()),
        ),
        _correct_side("Worker", correct_evidence, jobs=_rows(correct.list_jobs())),
    )


def _sweep_with(worker: Callable[..., Worker], timeout: float):
    """An email that always fails and a report, swept ``STORM_SWEEPS`` times on the real store,
    worked off by ``worker``; the evidence, and the store."""
    store, log = InMemoryJobStore(), RunLog()
    _create(store, MIXED_JOBS[:2], max_retries=3)
    handler = log.watch(EMAILS_FAIL)
    _sweep_and_work(store, handler, sweeps=STORM_SWEEPS, timeout=timeout, log=log, worker=worker)
    found = find_violations(store.list_jobs(), store.transitions(), handler_runs=log.runs)
    return found + _bursts(log), store


def _bursts(log: RunLog) -> list[Violation]:
    """Runs of one job with no sweep between them: each after the first is a retry the sweeper
    did not make."""
    per_gap: dict[tuple[str, int], int] = defaultdict(int)
    for run in log.runs:
        per_gap[run.job_id, bisect_right(log.sweeps, run.started)] += 1
    worst: dict[str, int] = {}
    for (job_id, _gap), count in per_gap.items():
        worst[job_id] = max(worst.get(job_id, 0), count)
    return [
        Violation(RETRY_STORM, job_id, f"{count} runs in a row with no sweep between them")
        for job_id, count in sorted(worst.items())
        if count > 1
    ]


# --- all of them ----------------------------------------------------------------------------

SCENARIOS: Mapping[str, Callable[..., ScenarioResult]] = {
    "worker mutates state": scenario_worker_mutates_state,
    "failed with no reason": scenario_failed_without_reason,
    "saved before the error": scenario_saved_before_error,
    "missing error read": scenario_reading_missing_error,
    "random failures": scenario_random_failure,
    "no lock": scenario_no_lock,
    "no retry limit": scenario_no_retry_limit,
    "worker retries itself": scenario_worker_retries_itself,
}
"""Every scenario by name, in the order the course shows them."""


def run_all(*, timeout: float = DEFAULT_TIMEOUT) -> list[ScenarioResult]:
    """Run every scenario once, in order."""
    timeout = _checked_timeout(timeout)
    return [scenario(timeout=timeout) for scenario in SCENARIOS.values()]
