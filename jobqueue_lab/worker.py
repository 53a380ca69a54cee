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

from .domain import Job, JobStatus
from .store import InMemoryJobStore
from .work_queue import WorkQueue

log = logging.getLogger(__name__)

Handler = Callable[[Job], object]

_NEVER_SET = threading.Event()
_current = threading.local()


def stop_requested() -> threading.Event:
    """The stop event of the worker running on this thread (never set outside a worker).

    Long-running handlers wait on it instead of sleeping, so a pool can stop promptly.
    """
    return getattr(_current, "stop", _NEVER_SET)


def describe_failure(exc: BaseException) -> str:
    """The text stored as ``last_error``: the exception's type and message, never empty."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class Worker(threading.Thread):
    """One worker thread: take an id, claim the job, run the handler, signal the outcome, repeat.

    It stops when ``stop`` is set, leaving the ids still on the queue for a later run.
    """

    def __init__(
        self,
        name: str,
        store: InMemoryJobStore,
        work_queue: WorkQueue,
        handler: Handler,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._store = store
        self._queue = work_queue
        self._handler = handler
        self._stopping = stop
        self.jobs_run = 0

    def run(self) -> None:
        _current.stop = self._stopping
        while True:
            job_id = self._queue.take()
            if job_id is None or self._stopping.is_set():
                if job_id is not None:
                    self._queue.done_claiming(job_id)
                return
            job = self._store.claim_job(job_id)
            self._queue.done_claiming(job_id)
            if job is not None:
                self.process(job)

    def process(self, job: Job) -> None:
        """Run the handler on a claimed job and signal its outcome to the store."""
        self.jobs_run += 1
        try:
            self._handler(job)
        except Exception as exc:
            self._signal(job, JobStatus.FAILED, describe_failure(exc))
        except BaseException as exc:
            self._signal(job, JobStatus.FAILED, describe_failure(exc))
            raise
        else:
            self._signal(job, JobStatus.COMPLETED, None)

    def _signal(self, job: Job, status: JobStatus, last_error: str | None) -> None:
        try:
            self._store.update_status(job.id, status, last_error)
        except Exception:
            log.exception("store refused the outcome of %s", job.id)
