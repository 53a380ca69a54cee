"""Timing helpers shared by the benchmarks: wall time, thread switches, medians."""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    """One timed section: how long it took, how many things it did (jobs, runs or cycles),
    and how many times the process's threads switched meanwhile."""

    seconds: float
    count: int
    switches: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def switches_each(self) -> float:
        return self.switches / self.count


def context_switches() -> int:
    """Times any thread of this process gave up a CPU, by choice or not, so far.

    Under the GIL most of these are one thread handing over to another, so a pool whose
    threads wait on each other shows many per job, and one whose threads run on does not.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


class Section:
    """Times a ``with`` block and counts the thread switches inside it."""

    seconds = 0.0
    switches = 0

    def __enter__(self) -> Section:
        self._switches = context_switches()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self.switches = context_switches() - self._switches

    def measured(self, count: int) -> Measured:
        return Measured(self.seconds, count, self.switches)


def seconds(action: Callable[[], object]) -> float:
    """Wall-clock seconds one call of ``action`` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    """The middle value: one slow run on a busy machine does not move it."""
    return statistics.median(values)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the garbage collector out of a short timed section, as ``timeit`` does."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
