"""The sweeper: a periodic thread that owns retrying.

Every ``interval`` seconds it asks the store to move failed jobs that still have attempts left
back to pending, then offers the queue the pending jobs that are not queued yet. Keeping
this in one place means retries are bounded (the store checks the limit) and paced (the
interval), instead of each worker hammering a failing job in a tight loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .store import InMemoryJobStore


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: ids sent back to pending, and ids put on the queue."""

    retried: tuple[str, ...]
    enqueued: tuple[str, ...]


MIN_PAUSE = 0.001
"""The shortest wait between two sweeps, in seconds, whatever the interval.

``interval=0`` asks for "retry as soon as possible", not for a loop that never waits: such a
loop would hold Python's GIL nearly all the time and starve the very workers it feeds.
"""


class Sweeper(threading.Thread):
    """Calls ``sweep_once`` every ``interval`` seconds until ``stop`` is set.

    ``batch`` caps how many pending jobs one sweep offers to ``enqueue``. A pool passes its
    queue capacity: a full queue takes no more, and a burst of thousands of pending jobs
    then costs each sweep a handful of ids rather than all of them.
    """

    def __init__(
        self,
        store: InMemoryJobStore,
        enqueue: Callable[[str], bool],
        *,
        interval: float = 0.05,
        stop: threading.Event | None = None,
        batch: int | None = None,
    ) -> None:
        super().__init__(name="sweeper", daemon=True)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"sweeper interval must be a number of seconds >= 0, got {interval!r}")
        if batch is not None and not _is_positive_int(batch):
            raise ValueError(f"sweeper batch must be None or an int >= 1, got {batch!r}")
        self.store = store
        self.interval = float(interval)
        self.batch = batch
        self._enqueue = enqueue
        self._stopping = stop or threading.Event()
        self.sweeps = 0

    def sweep_once(self) -> SweepReport:
        """Retry what may be retried, then queue pending jobs that are not queued yet,
        those waiting longest first."""
        retried = self.store.retry_failed_jobs(actor="sweeper")
        waiting = self.store.pending_ids(limit=self.batch)
        enqueued = [job_id for job_id in waiting if self._enqueue(job_id)]
        self.sweeps += 1
        return SweepReport(tuple(job.id for job in retried), tuple(enqueued))

    def run(self) -> None:
        pause = max(self.interval, MIN_PAUSE)
        while not self._stopping.wait(pause):
            self.sweep_once()


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
