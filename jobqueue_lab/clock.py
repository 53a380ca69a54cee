"""A clock you move by hand, for lessons and tests about time.

Leases run out and backoff delays pass in the store's clock. With the real clock a lesson about
a 30-second lease takes 30 seconds and its numbers change every run; with this one, a notebook
says ``clock.advance(31)`` and the lease has run out, instantly and the same way every time.
"""

from __future__ import annotations

import threading

from .validation import check_number


class ManualClock:
    """A store clock that stands still until ``advance`` moves it: ``InMemoryJobStore(clock=c)``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = check_number(start, "start", minimum=0, maximum=1e9)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` and return the new time."""
        seconds = check_number(seconds, "seconds", minimum=0, maximum=1e9)
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(at {self._now:g} s)"
