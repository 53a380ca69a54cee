"""The sweeper: a periodic thread that owns retrying, and the one path from the store to the queue.

Every ``interval`` seconds it asks the store to fail the jobs whose lease ran out (their worker
is lost or stuck), to move failed jobs that may be retried back to pending, and then offers the
queue the pending jobs that are not queued yet. Keeping this
in one place means retries are bounded (the store checks the limit) and paced (the interval),
instead of each worker hammering a failing job in a tight loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import StoreUnavailable
from .stores.contract import JobStore
from .validation import check_callable, check_limit, check_number

log = logging.getLogger(__name__)

MIN_PAUSE = 0.001
"""The shortest wait between two sweeps, in seconds, whatever the interval.

``interval=0`` asks for "retry as soon as possible", not for a loop that never waits: such a
loop would hold Python's GIL nearly all the time and starve the very workers it feeds.
"""

MAX_INTERVAL = 3600.0
"""The longest interval accepted, in seconds: an hour between retries is already glacial."""


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: ids sent back to pending, ids put on the queue, and ids of jobs whose
    lease had run out, failed so that they can be retried."""

    retried: tuple[str, ...]
    enqueued: tuple[str, ...]
    recovered: tuple[str, ...] = ()


class Sweeper(threading.Thread):
    """Calls ``sweep_once`` every ``interval`` seconds until ``stop`` is set.

    ``enqueue(job_id) -> bool`` offers one id to the queue. ``batch`` caps how many pending ids
    one sweep offers: a pool passes one more than its queue holds, so a burst of thousands
    costs each sweep a handful of ids. A pool also passes its queue's ``wants_more`` event as
    ``wake``, so the sweeper fills a half-empty queue at once instead of at its next round.
    """

    def __init__(
        self,
        store: JobStore,
        enqueue: Callable[[str], bool],
        *,
        interval: float = 0.05,
        stop: threading.Event | None = None,
        batch: int | None = None,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.interval = check_number(interval, "sweeper_interval", minimum=0, maximum=MAX_INTERVAL)
        self.batch = check_limit(batch)
        self.store = store
        self._enqueue = check_callable(enqueue, "enqueue", "with a job id")
        self._stopping = stop or threading.Event()
        self._wake = wake if wake is not None else self._stopping
        self.sweeps = 0

    def sweep_once(self) -> SweepReport:
        """Recover jobs whose lease ran out, retry what may be retried, then offer the queue the
        pending jobs, those waiting longest first."""
        recovered = self.store.recover_expired_leases(actor="sweeper")
        retried = self.store.retry_failed_jobs(actor="sweeper")
        waiting = self.store.pending_ids(limit=self.batch)
        enqueued = [job_id for job_id in waiting if self._enqueue(job_id)]
        self.sweeps += 1
        return SweepReport(
            tuple(job.id for job in retried),
            tuple(enqueued),
            tuple(job.id for job in recovered),
        )

    def run(self) -> None:
        pause = max(self.interval, MIN_PAUSE)
        while True:
            woken = self._wake.wait(pause)
            if self._stopping.is_set():
                return
            if woken:
                self._wake.clear()
            try:
                self.sweep_once()
            except StoreUnavailable as error:
                # The database is down or restarting: the next sweep tries again.
                log.warning("a sweep could not reach the store: %s", error)
            except Exception:
                # A sweep that fails (say, a backoff policy that raises) must not end the
                # sweeping: every later retry and recovery depends on it.
                log.exception("a sweep failed; the sweeper carries on")
