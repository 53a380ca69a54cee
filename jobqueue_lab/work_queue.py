"""The work queue: job ids waiting for a worker, each id at most once.

The queue carries job *ids*, never jobs: whoever takes an id must still claim the job from the
store, so the store stays the single owner of job state (the Python version of a Go channel of
ids). The queue knows nothing of the store; the sweeper is the one thing that moves ids from
the store onto it (and the pool, once, for a job it has just created).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from .validation import check_int


class WorkQueue:
    """A bounded FIFO of job ids in which an id appears at most once.

    An id counts as queued from ``put`` until a worker has tried to claim its job and says so
    with ``done_claiming``. Only then may it be put again, so no two workers race for one job.

    When the queue is full, ``put`` refuses and the job simply stays pending in the store. The
    queue then sets ``wants_more`` once workers have emptied half of it, and the sweeper, which
    waits on that event, fills it again at once instead of at its next round.
    """

    def __init__(self, capacity: int = 100) -> None:
        self.capacity = check_int(capacity, "queue_capacity", minimum=1)
        self.wants_more = threading.Event()
        self._ids: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._queued: set[str] = set()
        self._turned_away = False
        self._lock = threading.Lock()

    def put(self, job_id: str, *, still_wanted: Callable[[str], bool] | None = None) -> bool:
        """Queue an id; False if it is queued already or the queue is full.

        ``still_wanted(job_id)`` is asked after the id is marked as queued. A caller that read
        the id a moment ago passes it, so that an id whose job a worker claimed in that moment
        is dropped here rather than offered twice.
        """
        with self._lock:
            if job_id in self._queued:
                return False
            if len(self._queued) >= self.capacity:
                self._turned_away = True
                return False
            self._queued.add(job_id)
        if still_wanted is not None and not still_wanted(job_id):
            self._queued.discard(job_id)
            return False
        self._ids.put(job_id)
        return True

    def take(self) -> str | None:
        """The next job id, waiting for one; ``None`` means "stop"."""
        return self._ids.get()

    def done_claiming(self, job_id: str) -> None:
        """A worker has claimed the job (or found it taken): the id may be queued again."""
        # No lock: every worker calls this once per job, and set.discard is atomic on its own.
        self._queued.discard(job_id)
        if self._turned_away and len(self._queued) <= self.capacity // 2:
            self._turned_away = False
            self.wants_more.set()

    def wake(self, count: int) -> None:
        """Wake everyone waiting on the queue: ``count`` stop markers for the workers, and
        ``wants_more`` for the sweeper."""
        for _ in range(count):
            self._ids.put(None)
        self.wants_more.set()

    def __len__(self) -> int:
        return len(self._queued)
