"""The worker pool: a work queue, some workers and a sweeper, started and stopped together."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .domain import Job
from .failures import simulated_work
from .store import InMemoryJobStore
from .sweeper import Sweeper
from .work_queue import WorkQueue
from .worker import Handler, Worker


class WorkerPool:
    """Workers and a sweeper around one store. Use it as a context manager.

    >>> from jobqueue_lab import WorkerPool, simulated_work, fail_by_type
    >>> with WorkerPool(workers=2, handler=simulated_work(fail=fail_by_type("email"))) as pool:
    ...     _ = pool.submit("email", {"to": "ada@example.org"}, max_retries=2)
    ...     _ = pool.submit("report")
    ...     pool.wait()
    True
    >>> [(job.id, job.status.value, job.attempts) for job in pool.store.list_jobs()]
    [('job-001', 'failed', 2), ('job-002', 'completed', 1)]
    """

    def __init__(
        self,
        store: InMemoryJobStore | None = None,
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
        self.store = store if store is not None else InMemoryJobStore()
        self.queue = WorkQueue(self.store, queue_capacity)
        self._stopping = threading.Event()
        self.sweeper = Sweeper(
            self.store,
            self.queue.put,
            interval=sweeper_interval,
            stop=self._stopping,
            batch=self.queue.capacity,
        )
        self.workers = [
            Worker(
                f"worker-{n}", self.store, self.queue, handler or simulated_work(), self._stopping
            )
            for n in range(1, workers + 1)
        ]
        self._started = False
        self._stopped = False
        self._lifecycle = threading.Lock()

    def start(self) -> WorkerPool:
        """Start the workers and the sweeper (entering the ``with`` block does this)."""
        with self._lifecycle:
            if self._stopped:
                raise RuntimeError("this pool was stopped; make a new WorkerPool on the same store")
            if not self._started:
                self._started = True
                for worker in self.workers:
                    worker.start()
                self.sweeper.start()
        return self

    def submit(
        self, type: str, payload: Mapping[str, Any] | None = None, *, max_retries: int = 3
    ) -> Job:
        """Create a job and queue it. Never blocks: if the queue is full the job stays pending
        and the sweeper queues it later."""
        job = self.store.create_job(type, payload, max_retries=max_retries)
        self.queue.put(job.id)
        return job

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every job is settled; False if ``timeout`` seconds passed first."""
        return self.store.wait_until_settled(timeout)

    def stop(self) -> None:
        """Stop the sweeper and the workers, and wait for them.

        Work in progress is asked to end early; a job cut short is recorded as failed with the
        reason, so nothing is left in processing. Queued jobs stay pending for a later run.
        """
        with self._lifecycle:
            self._stopped = True
            self._stopping.set()
            self.queue.wake(len(self.workers))
            if not self._started:
                return
        self.sweeper.join()
        for worker in self.workers:
            worker.join()

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running" if self._started else "not started"
        return f"<WorkerPool {len(self.workers)} workers, {state}>"
