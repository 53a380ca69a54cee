"""The worker pool: a work queue, some workers and a sweeper, started and stopped together."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from .decisions import MAX_LEASE
from .domain import PENDING, Job
from .failures import simulated_work
from .stores.contract import JobStore
from .stores.memory import InMemoryJobStore
from .sweeper import Sweeper
from .validation import check_callable, check_int, check_number, check_timeout
from .work_queue import WorkQueue
from .worker import Handler, Worker

STOP_TIMEOUT = 3.0
"""How long ``WorkerPool.stop()`` waits for handlers to finish before it returns anyway."""


class WorkerPool:
    """Workers and a sweeper around one store. Use it as a context manager.

    A variant of the pool is one class attribute away: ``worker_class`` and ``sweeper_class``
    name what it builds its threads from.

    >>> from jobqueue_lab import WorkerPool, simulated_work, fail_by_type
    >>> with WorkerPool(workers=2, handler=simulated_work(fail=fail_by_type("email"))) as pool:
    ...     _ = pool.submit("email", {"to": "ada@example.org"}, max_retries=2)
    ...     _ = pool.submit("report")
    ...     pool.wait()
    True
    >>> [(job.id, job.status.value, job.attempts) for job in pool.store.list_jobs()]
    [('job-001', 'failed', 2), ('job-002', 'completed', 1)]
    """

    worker_class: type[Worker] = Worker
    sweeper_class: type[Sweeper] = Sweeper

    def __init__(
        self,
        store: JobStore | None = None,
        *,
        workers: int = 4,
        handler: Handler | None = None,
        sweeper_interval: float = 0.05,
        queue_capacity: int = 100,
        lease_seconds: float | None = None,
    ) -> None:
        check_int(workers, "workers", minimum=1)
        if handler is not None:
            check_callable(handler, "handler", "with a job")
        self.store = InMemoryJobStore() if store is None else _checked_store(store)
        if lease_seconds is not None:
            lease_seconds = check_number(
                lease_seconds, "lease_seconds", minimum=0.001, maximum=MAX_LEASE
            )
        self.queue = WorkQueue(queue_capacity)
        self._offer = _offer_pending_jobs(self.store, self.queue)
        self._stopping = threading.Event()
        self.sweeper = self.sweeper_class(
            self.store,
            self._offer,
            interval=sweeper_interval,
            stop=self._stopping,
            # One more than the queue holds: if that one is turned away, the queue knows
            # jobs are waiting and asks for more as soon as it has room.
            batch=self.queue.capacity + 1,
            wake=self.queue.wants_more,
        )
        handler = handler or simulated_work()
        self.workers = [
            self.worker_class(
                f"worker-{n}",
                self.store,
                work_queue=self.queue,
                handler=handler,
                stop=self._stopping,
                lease_seconds=lease_seconds,
            )
            for n in range(1, workers + 1)
        ]
        self._started = False
        self._stopped = False
        self._lifecycle = threading.Lock()
        # A pool dropped without stop() must not leave its threads running for ever. The
        # threads never refer to the pool, so it can be collected; this then stops them.
        weakref.finalize(self, _signal_stop, self._stopping, self.queue, workers)

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
        self._offer(job.id)
        return job

    def wait(self, timeout: float | None = 30.0) -> bool:
        """Wait until every job is settled; False if ``timeout`` seconds passed first.
        ``None`` or ``math.inf`` waits as long as it takes."""
        return self.store.wait_until_settled(check_timeout(timeout))

    def stop(self, timeout: float | None = STOP_TIMEOUT) -> bool:
        """Stop the sweeper and the workers; wait for them at most ``timeout`` seconds.

        Work in progress is asked to end early (``stop_requested()``), and a job whose handler
        ends early is released back to pending without spending its attempt. Queued jobs stay
        pending for a later run. Returns False if a handler ignored the stop and is still
        running: its job is left to its lease, and whatever it reports later is fenced off.
        """
        timeout = check_timeout(timeout)
        with self._lifecycle:
            self._stopped = True
            _signal_stop(self._stopping, self.queue, len(self.workers))
            if not self._started:
                return True
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in [self.sweeper, *self.workers]:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in [self.sweeper, *self.workers])

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running" if self._started else "not started"
        return f"<{type(self).__name__} {len(self.workers)} workers, {state}>"


def _offer_pending_jobs(store: JobStore, work_queue: WorkQueue) -> Callable[[str], bool]:
    """How the pool offers an id to its queue: the queue keeps it only if the job is still
    pending once the id is marked as queued. An id read a moment ago whose job a worker claimed
    in that moment is dropped, rather than queued again for a claim that would be refused."""

    def still_pending(job_id: str) -> bool:
        return store.get_job(job_id).status is PENDING

    return partial(work_queue.put, still_wanted=still_pending)


def _signal_stop(stop: threading.Event, work_queue: WorkQueue, workers: int) -> None:
    stop.set()
    work_queue.wake(workers)


def _checked_store(store: object) -> JobStore:
    """The store a pool is given must be a store object, not a class or something else."""
    if isinstance(store, type):
        raise TypeError(f"store must be a store instance, got the class {store.__name__}: call it")
    if not isinstance(store, JobStore):
        raise TypeError(f"store must be a job store such as InMemoryJobStore(), got {store!r}")
    return store
