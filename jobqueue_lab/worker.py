"""Workers: threads that take job ids from a queue, run the handler, and signal the outcome.

A worker never decides what a job's state becomes. It claims a job through the store, runs the
handler, and then tells the store what happened: "completed", or "failed, because ...", always
with the claim it holds, so that a late report from a lost claim is refused (fencing). Retrying
is not the worker's business either: the sweeper does that, within the attempt limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from .domain import COMPLETED, FAILED, Job, JobStatus
from .errors import PermanentFailure, StaleClaim, StoreUnavailable
from .stores.contract import JobStore
from .work_queue import WorkQueue

log = logging.getLogger(__name__)

Handler = Callable[[Job], object]
T = TypeVar("T")

MIN_IDLE = 0.005
"""The first pause, in seconds, of a ``ClaimingWorker`` that found nothing to do."""

MAX_IDLE = 0.2
"""The longest pause, in seconds, of a ``ClaimingWorker`` that keeps finding nothing to do."""

# What the handler running on this thread may reach without being passed it: its worker's
# stop event, and the claim it runs under (``Held``).
_current = threading.local()


class Held:
    """The claim a worker thread is running a handler under: the store, the job as claimed,
    the lease length asked for, and when (on this process's monotonic clock) the lease will
    run out unless renewed. The last is what a worker that cannot reach the store goes by."""

    __slots__ = ("job", "lease_ends", "lease_seconds", "store")

    def __init__(self, store: JobStore, job: Job, lease_seconds: float | None) -> None:
        self.store = store
        self.job = job
        self.lease_seconds = store.lease_seconds if lease_seconds is None else lease_seconds
        self.lease_ends = time.monotonic() + self.lease_seconds


def stop_requested() -> threading.Event:
    """The stop event of the worker running on this thread.

    Long-running handlers wait on it instead of sleeping, so a pool can stop promptly. Outside
    a worker each call returns a new event that nothing else sees, so setting it changes
    nothing anywhere else.
    """
    stop = getattr(_current, "stop", None)
    return stop if stop is not None else threading.Event()


def heartbeat() -> bool:
    """Renew the lease on the job this thread's worker is running.

    A handler doing long work calls it now and then (every ``heartbeat_interval()`` seconds),
    so that only a worker that hangs or is lost lets its lease run out. Returns False when the
    claim no longer holds the job (the lease ran out and the job was recovered): the work is
    someone else's now, and this worker's report will be refused. A store that cannot be
    reached for a moment is not a lost claim: the beat is skipped (the lease has two more in
    hand) and True returned. Outside a worker it does nothing and returns True.
    """
    held: Held | None = getattr(_current, "held", None)
    if held is None:
        return True
    asked = time.monotonic()
    try:
        held.store.renew_lease(held.job.id, held.job.claim, lease_seconds=held.lease_seconds)
    except StaleClaim:
        return False
    except StoreUnavailable as error:
        log.warning("a heartbeat for %s could not reach the store: %s", held.job.id, error)
        return True
    held.lease_ends = asked + held.lease_seconds
    return True


def heartbeat_interval() -> float | None:
    """How often the handler on this thread should call ``heartbeat()``: a third of its lease,
    so that two missed beats still leave the lease alive. ``None`` outside a worker."""
    held: Held | None = getattr(_current, "held", None)
    return None if held is None else held.lease_seconds / 3


def describe_failure(exc: BaseException) -> str:
    """The text stored as ``last_error``: the exception's type and message, never empty, and
    always text that every store can hold.

    It must work for any exception a handler can raise, including one whose ``__str__`` is
    itself broken, because a worker that fails here would leave its job in processing. For
    the same reason, what no database can store is escaped (``storable_text``) rather than
    passed on to be refused.
    """
    name = type(exc).__name__
    try:
        message = str(exc).strip()
    except Exception as broken:  # str() raises TypeError too when __str__ returns a non-str
        return f"{name}: <message unavailable: {type(broken).__name__} in __str__>"
    return storable_text(f"{name}: {message}" if message else name)


def storable_text(text: str) -> str:
    """``text`` with the two things a database cannot hold written as backslash escapes: a
    lone surrogate (``os.fsdecode`` makes one of each byte of a file name that is not UTF-8;
    it has no UTF-8 encoding) becomes ``\\udcff``, and a NUL (which PostgreSQL text refuses)
    becomes ``\\x00``. Other text comes back unchanged."""
    if text.isascii() and "\x00" not in text:
        return text
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return escaped.replace("\x00", "\\x00")


class Outcome(NamedTuple):
    """What a worker reports once its handler has run: the signal, never the new state."""

    status: JobStatus
    last_error: str | None = None
    permanent: bool = False


SUCCEEDED = Outcome(COMPLETED)
"""The outcome of every handler that returned: one object, made once."""


class Worker(threading.Thread):
    """One worker thread: take an id, claim the job, run the handler, signal the outcome, repeat.

    It stops when ``stop`` is set, leaving the ids still on the queue for a later run. It holds
    the store, the queue and the stop event, never the pool, so a pool nobody refers to any
    more can be collected, and stopping it then stops its threads. ``ClaimingWorker``, which
    finds its own work, is given no queue.
    """

    def __init__(
        self,
        name: str,
        store: JobStore,
        work_queue: WorkQueue | None,
        handler: Handler,
        stop: threading.Event,
        *,
        lease_seconds: float | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._store = store
        self._queue = work_queue
        self._handler = handler
        self._stopping = stop
        self._lease_seconds = lease_seconds

    def run(self) -> None:
        _current.stop = self._stopping
        while (job_id := self._queue.take()) is not None and not self._stopping.is_set():
            job = self._store.claim_job(job_id, lease_seconds=self._lease_seconds)
            self._queue.done_claiming(job_id)
            if job is not None:
                self.process(job)

    def process(self, job: Job) -> None:
        """Run the handler on a claimed job and signal its outcome to the store."""
        held = Held(self._store, job, self._lease_seconds)
        self._finish(held, self.run_handler(held))

    def run_handler(self, held: Held) -> Outcome | None:
        """Run the handler on the job ``held`` and say what to report: its ``Outcome``, or
        ``None`` to give the job back.

        Any exception is the job's failure, ``KeyboardInterrupt`` and ``SystemExit`` included,
        as in ``concurrent.futures``: the worker records it and goes on serving. Two cases are
        different: ``PermanentFailure`` fails the job for good, and a handler cut short because
        the pool is stopping gives the job back (a release) without spending its attempt.
        """
        _current.held = held
        try:
            self._handler(held.job)
        except PermanentFailure as exc:
            return Outcome(FAILED, describe_failure(exc), permanent=True)
        except BaseException as exc:
            return None if self._stopping.is_set() else Outcome(FAILED, describe_failure(exc))
        else:
            return SUCCEEDED
        finally:
            _current.held = None

    def _finish(self, held: Held, outcome: Outcome | None) -> None:
        """Report ``outcome`` to the store, or give the job back when there is none."""
        store, job = self._store, held.job
        if outcome is None:
            self._keep_trying(held, "release of", store.release_job, job.id, job.claim)
        else:
            status, last_error, permanent = outcome
            self._keep_trying(
                held, "report for", store.update_status, job.id, status, last_error,
                claim=job.claim, permanent=permanent,
            )

    def _keep_trying(
        self, held: Held, what: str, call: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T | None:
        """Make ``call(*args, **kwargs)`` (the ``what`` of ``held.job``: its report or release)
        reach the store, and return the store's answer.

        A store that cannot be reached is asked again, after pauses that grow, until the
        job's lease would have run out: until then the outcome is this worker's to report,
        and dropping it would leave the job to wait out its lease and spend an attempt. After
        that the sweeper takes the job back, and a late report would be refused anyway. A
        refusal (``StaleClaim``: the claim was lost; any other: a bug) is logged, not raised:
        the worker goes on serving. Returns ``None`` when the call did not go through.
        """
        job, pause = held.job, MIN_IDLE
        while True:
            try:
                return call(*args, **kwargs)
            except StaleClaim:
                log.info("the store fenced off a late %s %s (claim %d)", what, job.id, job.claim)
            except StoreUnavailable as error:
                left = held.lease_ends - time.monotonic()
                if left > 0:
                    log.info("could not send the %s %s yet, trying again: %s", what, job.id, error)
                    time.sleep(min(pause, left))
                    pause = min(2 * pause, MAX_IDLE)
                    continue
                log.warning("gave up sending the %s %s: its lease has run out", what, job.id)
            except Exception:
                log.warning("the store refused the %s %s", what, job.id, exc_info=True)
            return None


class ClaimingWorker(Worker):
    """A worker that shares no queue: it asks the store for the next job itself.

    Worker processes share nothing but the store, so there is no queue for a sweeper to fill.
    After a job it reports the outcome and claims its next job in one step
    (``report_and_claim_next``): one commit per job instead of two, which on a durable
    database is most of a job's cost. When nothing is pending it waits (``wait_for_work``)
    a little longer after each empty answer, from ``MIN_IDLE`` up to ``MAX_IDLE`` seconds, so
    idle workers cost the database little; on PostgreSQL the database wakes it as soon as a
    job arrives. A store that cannot be reached counts as an empty answer (and is logged).
    """

    def run(self) -> None:
        _current.stop = self._stopping
        pause = MIN_IDLE
        job = None
        while not self._stopping.is_set():
            if job is None:
                job = self._claim_next()
            if job is None:
                self._store.wait_for_work(pause, self._stopping)
                pause = min(2 * pause, MAX_IDLE)
            else:
                pause = MIN_IDLE
                job = self._process_and_claim_next(job)
        if job is not None:  # claimed with the last report, just as the pool was stopping
            self._finish(Held(self._store, job, self._lease_seconds), None)

    def _claim_next(self) -> Job | None:
        try:
            return self._store.claim_next(lease_seconds=self._lease_seconds)
        except StoreUnavailable as error:
            log.warning("%s could not reach the store: %s", self.name, error)
            return None
        except Exception:
            log.warning("%s could not ask the store for a job", self.name, exc_info=True)
            return None

    def _process_and_claim_next(self, job: Job) -> Job | None:
        """Run the handler on ``job``, then report its outcome and claim the next job in one
        step; the next job (``None``: none was pending, or the pool is stopping)."""
        held = Held(self._store, job, self._lease_seconds)
        outcome = self.run_handler(held)
        if outcome is None or self._stopping.is_set():
            self._finish(held, outcome)
            return None

        status, last_error, permanent = outcome
        answer = self._keep_trying(
            held, "report for", self._store.report_and_claim_next, job.id, status, last_error,
            claim=job.claim, permanent=permanent, lease_seconds=self._lease_seconds,
        )
        return None if answer is None else answer[1]
