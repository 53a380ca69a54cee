"""The worker pool: a queue of job ids, some workers, and a sweeper, started and stopped together.

The queue carries job *ids*, never jobs: whoever takes an id must still claim the job from the
store, so the store stays the single owner of job state (the Python version of a Go channel of
ids). A job id is never on the queue twice at once, so workers do not race for the same job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from typing import Any

from .domain import Job, JobStatus
from .failures import simulated_work
from .store import InMemoryJobStore
from .sweeper import Sweeper
from .worker import Handler, Worker


class WorkQueue:
    """A bounded FIFO of job ids in which an id appears at most once.

    An id counts as queued from ``put`` until a worker has claimed (or failed to claim) the
    job. Only then may it be put again, so the sweeper cannot slip in a duplicate between a
    worker taking the id and the worker's claim.
    """

    def __init__(self, store: InMemoryJobStore, capacity: int = 100) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"queue_capacity must be an int >= 1, got {capacity!r}")
        self.capacity = capacity
        self._store = store
        self._ids: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._queued: set[str] = set()
        self._lock = threading.Lock()

    def put(self, job_id: str) -> bool:
        """Queue a pending job; False if it is queued already, not pending, or the queue is full."""
        with self._lock:
            if job_id in self._queued or len(self._queued) >= self.capacity:
                return False
            if self._store.get_job(job_id).status is not JobStatus.PENDING:
                return False
            self._queued.add(job_id)
        self._ids.put(job_id)
        return True

    def take(self) -> str | None:
        """The next job id, waiting for one; ``None`` means "stop"."""
        return self._ids.get()

    def done_claiming(self, job_id: str) -> None:
        """A worker has claimed the job (or found it taken): the id may be queued again later."""
        with self._lock:
            self._queued.discard(job_id)

    def wake(self, count: int) -> None:
        """Put ``count`` stop markers on the queue, one for each waiting worker."""
        for _ in range(count):
            self._ids.put(None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._queued)


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
            self.store, self.queue.put, interval=sweeper_interval, stop=self._stopping
        )
        self.workers = [
            Worker(
                f"worker-{n}",
                self.store,
                handler or simulated_work(),
                self._take,
                self.queue.done_claiming,
                self._stopping,
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

    def _take(self) -> str | None:
        job_id = self.queue.take()
        if job_id is not None and self._stopping.is_set():
            self.queue.done_claiming(job_id)
            return None
        return job_id

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running" if self._started else "not started"
        return f"<WorkerPool {len(self.workers)} workers, {state}>"
