"""Workers: threads that take job ids from a queue, run the handler, and signal the outcome.

A worker never decides what a job's state becomes. It claims a job through the store, runs the
handler, and then tells the store what happened: "completed", or "failed, because ...". The
store checks that against the transition table and applies it atomically. Retrying is not the
worker's business either: the sweeper does that, on a schedule, within the attempt limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .contract import JobStore
from .domain import COMPLETED, FAILED, Job, JobStatus
from .work_queue import WorkQueue

log = logging.getLogger(__name__)

Handler = Callable[[Job], object]

_current = threading.local()


def stop_requested() -> threading.Event:
    """The stop event of the worker running on this thread.

    Long-running handlers wait on it instead of sleeping, so a pool can stop promptly. Outside
    a worker each call returns a new event that nothing else sees, so setting it changes
    nothing anywhere else.
    """
    stop = getattr(_current, "stop", None)
    return stop if stop is not None else threading.Event()


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
    more can be collected, and stopping it then stops its threads.
    """

    def __init__(
        self,
        name: str,
        store: JobStore,
        work_queue: WorkQueue,
        handler: Handler,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._store = store
        self._queue = work_queue
        self._handler = handler
        self._stopping = stop

    def run(self) -> None:
        _current.stop = self._stopping
        while (job_id := self._queue.take()) is not None and not self._stopping.is_set():
            job = self._store.claim_job(job_id)
            self._queue.done_claiming(job_id)
            if job is not None:
                self.process(job)

    def process(self, job: Job) -> None:
        """Run the handler on a claimed job and signal its outcome to the store.

        Any exception is the job's failure, ``KeyboardInterrupt`` and ``SystemExit`` included,
        as in ``concurrent.futures``: the worker records it and goes on serving.
        """
        try:
            self._handler(job)
        except BaseException as exc:
            self._signal(job, FAILED, describe_failure(exc))
        else:
            self._signal(job, COMPLETED, None)

    def _signal(self, job: Job, status: JobStatus, last_error: str | None) -> None:
        try:
            self._store.update_status(job.id, status, last_error)
        except Exception:
            log.warning("the store refused the outcome of %s", job.id, exc_info=True)
