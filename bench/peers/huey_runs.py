"""Huey's ``MemoryHuey`` with an in-process consumer of 4 worker threads.

Huey is what many Python projects pick for a small task queue; in memory it is the closest
thing to jobqueue_lab with a real queue's features (retries, results, signals).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from huey import MemoryHuey
from huey.consumer import Consumer
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

from ..harness.jobs import RUNS_PER_JOB, TIMEOUT, WORKERS, BenchmarkError, check_outcome, job_fails
from ..harness.timing import Measured, Section


class InProcessConsumer(Consumer):
    """A Huey consumer started from Python code rather than ``huey_consumer``.

    ``Consumer.start()`` starts the worker threads and returns; it also installs signal
    handlers for a stand-alone consumer process, which a benchmark must not do to its host.
    """

    def _set_signal_handlers(self) -> None:
        pass


class Tally:
    """Counts task runs and settled tasks from Huey's signals; sets ``all_settled`` at the end."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.runs = 0
        self.completed = 0
        self.settled = 0
        self.all_settled = threading.Event()
        self._lock = threading.Lock()

    def record(self, signal: str, task: object, *args: object) -> None:
        with self._lock:
            self.runs += 1
            if signal == SIGNAL_COMPLETE:
                self.completed += 1
            if signal == SIGNAL_COMPLETE or not task.retries:
                self.settled += 1
                if self.settled == self.jobs:
                    self.all_settled.set()


def noop(jobs: int) -> Measured:
    return _run(jobs, failing=False)


def failure_path(jobs: int) -> Measured:
    """Every other task always fails, with ``retries=2``: Huey counts retries after the first
    run, so that is three runs, the same as ``max_retries=3`` in jobqueue_lab."""
    return _run(jobs, failing=True)


def _run(jobs: int, *, failing: bool) -> Measured:
    """The consumer's idle polling starts at 1 ms and never exceeds 10 ms (by default an idle
    worker sleeps 100 ms and up to 10 s, which would measure sleep)."""
    huey = MemoryHuey("bench")
    tally = Tally(jobs)
    huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(tally.record)

    @huey.task(retries=RUNS_PER_JOB - 1 if failing else 0)
    def work(fails: bool) -> None:
        if fails:
            raise RuntimeError("flaky jobs always fail")

    with _silenced("huey"), Section() as section:
        consumer = InProcessConsumer(
            huey, workers=WORKERS, periodic=False, initial_delay=0.001, max_delay=0.01
        )
        consumer.start()
        for number in range(jobs):
            work(failing and job_fails(number))
        settled = tally.all_settled.wait(TIMEOUT)
        consumer.stop(graceful=True)

    if not settled:
        raise BenchmarkError(f"Huey did not settle {jobs} tasks in {TIMEOUT}s")
    check_outcome(jobs, tally.completed, tally.runs, failing=failing)
    return section.measured(tally.runs)


@contextmanager
def _silenced(logger_name: str) -> Iterator[None]:
    """Mute a logger for a while: Huey logs a traceback per failed run, and printing them
    would measure the terminal rather than the queue."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
