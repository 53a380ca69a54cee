"""The work queue: job ids waiting for a worker, each id at most once.

The queue carries job *ids*, never jobs: whoever takes an id must still claim the job from the
store, so the store stays the single owner of job state (the Python version of a Go channel of
ids). An id is never on the queue twice at once, so workers do not race for the same job.
"""

from __future__ import annotations

import queue
import threading

from .domain import JobStatus
from .store import InMemoryJobStore


class WorkQueue:
    """A bounded FIFO of job ids in which an id appears at most once.

    An id counts as queued from ``put`` until a worker has claimed (or failed to claim) the
    job. Only then may it be put again, so the sweeper cannot slip in a duplicate between a
    worker taking the id and the worker's claim.

    When the queue is full, ``put`` refuses and the job simply stays pending in the store. If
    it had to refuse, the queue tops itself up from the store once workers have emptied half
    of it, so a burst bigger than the queue flows at the workers' pace instead of waiting for
    the sweeper's next round.
    """

    def __init__(self, store: InMemoryJobStore, capacity: int = 100) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"queue_capacity must be an int >= 1, got {capacity!r}")
        self.capacity = capacity
        self._store = store
        self._ids: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._queued: set[str] = set()
        self._left_out = False  # True when pending jobs may be waiting that did not fit
        self._lock = threading.Lock()

    def put(self, job_id: str) -> bool:
        """Queue a pending job; False if it is queued already, not pending, or the queue is full."""
        with self._lock:
            if job_id in self._queued:
                return False
            if len(self._queued) >= self.capacity:
                self._left_out = True
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
            top_up = self._left_out and len(self._queued) <= self.capacity // 2
            if top_up:
                self._left_out = False
        if top_up:
            self.top_up()

    def top_up(self) -> list[str]:
        """Queue pending jobs that are not queued yet, those waiting longest first, while
        there is room; return the ids queued.

        Reading ``capacity`` ids is enough: however many of them are queued already, the rest
        fill the room. A full read means more jobs may be waiting behind those, so the queue
        tops up again the next time it is half empty.
        """
        waiting = self._store.pending_ids(self.capacity)
        queued = [job_id for job_id in waiting if self.put(job_id)]
        if len(waiting) == self.capacity:
            with self._lock:
                self._left_out = True
        return queued

    def wake(self, count: int) -> None:
        """Put ``count`` stop markers on the queue, one for each waiting worker."""
        for _ in range(count):
            self._ids.put(None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._queued)
