"""Small helpers shared by the tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, poll: float = 0.002) -> bool:
    """Return True as soon as ``condition()`` holds, False once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


class FakeClock:
    """A clock that moves only when told to: ``InMemoryJobStore(clock=FakeClock())`` makes a
    lease run out, or a retry fall due, exactly when a test says and never because the machine
    was slow."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock on by ``seconds`` and return the new time."""
        with self._lock:
            self._now += seconds
            return self._now
