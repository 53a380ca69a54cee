"""Workers: threads that take job ids from a queue, run the handler, and signal the outcome.

A worker never decides what a job's state becomes. It claims a job through the store, runs the
handler, and then tells the store what happened: "completed", or "failed, because ...", always
with the claim it holds, so that a late report from a lost claim is refused (fencing). Retrying
is not the worker's business either: the sweeper does that, within the attempt limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .domain import COMPLETED, FAILED, Job, JobStatus
from .errors import PermanentFailure, StaleClaim
from .stores.contract import JobStore
from .work_queue import WorkQueue

log = logging.getLogger(__name__)

Handler = Callable[[Job], object]

MIN_IDLE = 0.005
"""The first pause, in seconds, of a ``ClaimingWorker`` that found nothing to do."""

MAX_IDLE = 0.2
"""The longest pause, in seconds, of a ``ClaimingWorker`` that keeps finding nothing to do."""

# What the handler running on this thread may reach without being passed it: its worker's
# stop event, and the store, job and lease length of the claim it runs under.
_current = threading.local()


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
    someone else's now, and this worker's report will be refused. Outside a worker it does
    nothing and returns True.
    """
    held = getattr(_current, "held", None)
    if held is None:
        return True
    store, job, lease_seconds = held
    try:
        store.renew_lease(job.id, job.claim, lease_seconds=lease_seconds)
    except StaleClaim:
        return False
    return True


def heartbeat_interval() -> float | None:
    """How often the handler on this thread should call ``heartbeat()``: a third of its lease,
    so that two missed beats still leave the lease alive. ``None`` outside a worker."""
    held = getattr(_current, "held", None)
    if held is None:
        return None
    store, _job, lease_seconds = held
    return (store.lease_seconds if lease_seconds is None else lease_seconds) / 3


def describe_failure(exc: BaseException) -> str:
    """The text stored as ``last_error``: the exception's type and message, never empty.

    It must work for any exception a handler can raise, including one whose ``__str__`` is
    itself broken, because a worker that fails here would leave its job in processing.
    """
    name = type(exc).__name__
    try:
        message = str(exc).strip()
    except Exception as broken:  # str() raises TypeError too when __str__ returns a non-str
        return f"{name}: <message unavailable: {type(broken).__name__} in __str__>"
    return f"{name}: {message}" if message else name


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
        """Run the handler on a claimed job and signal its outcome to the store.

        Any exception is the job's failure, ``KeyboardInterrupt`` and ``SystemExit`` included,
        as in ``concurrent.futures``: the worker records it and goes on serving. Two cases are
        different: ``PermanentFailure`` fails the job for good, and a handler cut short because
        the pool is stopping gives the job back (a release) without spending its attempt.
        """
        _current.held = (self._store, job, self._lease_seconds)
        try:
            self._handler(job)
        except PermanentFailure as exc:
            self._report(job, FAILED, describe_failure(exc), permanent=True)
        except BaseException as exc:
            if self._stopping.is_set():
                self._release(job)
            else:
                self._report(job, FAILED, describe_failure(exc))
        else:
            self._report(job, COMPLETED)
        finally:
            _current.held = None

    def _report(
        self, job: Job, status: JobStatus, last_error: str | None = None, *, permanent=False
    ) -> None:
        try:
            self._store.update_status(
                job.id, status, last_error, claim=job.claim, permanent=permanent
            )
        except StaleClaim:
            log.info("the store fenced off a late report for %s (claim %d)", job.id, job.claim)
        except Exception:
            log.warning("the store refused the outcome of %s", job.id, exc_info=True)

    def _release(self, job: Job) -> None:
        try:
            self._store.release_job(job.id, job.claim)
        except StaleClaim:
            log.info("the store fenced off a late release of %s (claim %d)", job.id, job.claim)
        except Exception:
            log.warning("the store refused to take back %s", job.id, exc_info=True)


class ClaimingWorker(Worker):
    """A worker that shares no queue: it asks the store for the next job itself (``claim_next``).

    Worker processes share nothing but the store, so there is no queue for a sweeper to fill.
    When the store has nothing pending, the worker waits before asking again, a little longer
    after each empty answer (from ``MIN_IDLE`` up to ``MAX_IDLE`` seconds), so idle workers
    cost the database little and a new job still starts soon. A failed request to the store
    (the database briefly unreachable) is logged and treated as an empty answer.
    """

    def run(self) -> None:
        _current.stop = self._stopping
        pause = MIN_IDLE
        while not self._stopping.is_set():
            try:
                job = self._store.claim_next(lease_seconds=self._lease_seconds)
            except Exception:
                log.warning("%s could not ask the store for a job", self.name, exc_info=True)
                job = None
            if job is None:
                self._stopping.wait(pause)
                pause = min(2 * pause, MAX_IDLE)
            else:
                pause = MIN_IDLE
                self.process(job)
