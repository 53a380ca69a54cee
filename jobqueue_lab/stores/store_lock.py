"""The in-memory store's lock: a ``threading.RLock`` with one change, written for speed.

This module is here for the benchmark floors, not for the lesson; read it as "a re-entrant
lock" and come back when the question below is yours.

Why not a plain ``threading.RLock``? Under CPython's GIL, a lock let go while another thread
sleeps waiting for it is *handed* to the sleeper: it wakes owning the lock, then waits for the
GIL. The thread that let go runs on and, a few microseconds later, asks for the lock again,
finds it taken by a thread that cannot run yet, and sleeps in turn. From then on every
acquisition waits for a switch of threads: a *lock convoy*. The store's lock is taken several
times a job by the workers, the sweeper and whoever submits, so one convoy, started whenever
the GIL is taken from a thread inside the lock, lasts as long as they all stay busy. In the
benchmarks it cost 2 to 5 thread switches a job and half the throughput, in some runs and
not others (``bench/README.md``).

``StoreLock`` never hands itself over. A thread that finds it taken sleeps until it is *told*
the lock was let go, then tries again, so the lock always goes to a thread that is running,
and a convoy cannot form. Like ``threading.RLock`` it is re-entrant and not fair (a thread
told may find the lock taken again, and sleeps until the next release), and it works with
``threading.Condition``.
"""

from __future__ import annotations

import threading


class StoreLock:
    """A re-entrant lock that goes to a running thread, never to a sleeping one (see above)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._released = threading.Condition(threading.Lock())
        self._waiting = 0  # threads asleep in acquire(), changed only under _released

    def acquire(self) -> bool:
        """Take the lock, waiting as long as it takes; True, as ``threading.RLock`` returns."""
        if self._lock.acquire(blocking=False):
            return True
        with self._released:
            # Counted before the try below: a release that comes after a failed try
            # therefore sees the count, and tells this thread.
            self._waiting += 1
            try:
                while not self._lock.acquire(blocking=False):
                    self._released.wait()
            finally:
                self._waiting -= 1
        return True

    def release(self) -> None:
        """Let go of the lock once, and tell one waiting thread, if there is one, to try
        again (it sleeps again if the lock is still held). ``RuntimeError`` if this thread
        does not hold it."""
        self._lock.release()
        self._tell_one()

    __enter__ = acquire

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _tell_one(self) -> None:
        if self._waiting:
            with self._released:
                self._released.notify()

    # What ``threading.Condition`` asks of a re-entrant lock: to let go of every level at
    # once while it waits, and to take them all back after.

    def _is_owned(self) -> bool:
        return self._lock._is_owned()

    def _release_save(self) -> tuple[int, int]:
        state = self._lock._release_save()
        self._tell_one()
        return state

    def _acquire_restore(self, state: tuple[int, int]) -> None:
        levels, _owner = state
        self.acquire()
        for _ in range(levels - 1):
            self._lock.acquire()
