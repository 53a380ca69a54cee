"""The sweeper: a periodic thread that owns retrying.

Every ``interval`` seconds it asks the store to move failed jobs that still have attempts left
back to pending, then puts every pending job that is not already queued on the queue. Keeping
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


class Sweeper(threading.Thread):
    """Calls ``sweep_once`` every ``interval`` seconds until ``stop`` is set."""

    def __init__(
        self,
        store: InMemoryJobStore,
        enqueue: Callable[[str], bool],
        *,
        interval: float = 0.05,
        stop: threading.Event | None = None,
    ) -> None:
        super().__init__(name="sweeper", daemon=True)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"sweeper interval must be a number of seconds >= 0, got {interval!r}")
        self.store = store
        self.interval = float(interval)
        self._enqueue = enqueue
        self._stopping = stop or threading.Event()
        self.sweeps = 0

    def sweep_once(self) -> SweepReport:
        """Retry what may be retried, then queue every pending job that is not queued yet."""
        retried = self.store.retry_failed_jobs(actor="sweeper")
        enqueued = [job.id for job in self.store.get_pending_jobs() if self._enqueue(job.id)]
        self.sweeps += 1
        return SweepReport(tuple(job.id for job in retried), tuple(enqueued))

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.sweep_once()
