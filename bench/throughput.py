"""Throughput: how fast jobs go through jobqueue_lab, a bare thread pool, and Huey.

Every runner times the same thing: start the workers, submit every job, wait until every job
is settled, stop the workers. Each checks the run did what it should before its time counts,
because a fast run that lost jobs measures nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass

from huey import MemoryHuey
from huey.consumer import Consumer
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

from jobqueue_lab import JobStatus, WorkerPool, fail_by_type, simulated_work

WORKERS = 4
RUNS_PER_JOB = 3
"""Attempts in total for a job that always fails (Huey's ``retries=2`` gives the same three)."""
TIMEOUT = 600.0


class BenchmarkError(RuntimeError):
    """A measured run did not do what it should, so its time means nothing."""


@dataclass(frozen=True)
class Run:
    """One timed run: how long it took and how many times a job body ran."""

    seconds: float
    runs: int

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds


def expected_runs(jobs: int, *, failing: bool) -> int:
    """Runs of the job body in a run: every other job fails every one of its attempts."""
    if not failing:
        return jobs
    failing_jobs = jobs // 2
    return (jobs - failing_jobs) + failing_jobs * RUNS_PER_JOB


def job_fails(number: int) -> bool:
    """Every other job fails (the odd-numbered ones), in every system measured."""
    return number % 2 == 1


# --- jobqueue_lab ------------------------------------------------------------------------


def pool_run(jobs: int, *, failing: bool = False) -> Run:
    """Jobs through a ``WorkerPool`` with 4 workers, its sweeper and its audit log.

    On the failure path the sweeper interval is 0 (retry as soon as possible), like Huey
    re-enqueueing a failed task at once.
    """
    if failing:
        handler = simulated_work(fail=fail_by_type("flaky"))
        pool = WorkerPool(workers=WORKERS, handler=handler, sweeper_interval=0)
    else:
        pool = WorkerPool(workers=WORKERS)
    started = time.perf_counter()
    with pool:
        for number in range(jobs):
            job_type = "flaky" if failing and job_fails(number) else "steady"
            pool.submit(job_type, max_retries=RUNS_PER_JOB)
        settled = pool.wait(TIMEOUT)
    elapsed = time.perf_counter() - started

    if not settled:
        raise BenchmarkError(f"the pool did not settle {jobs} jobs in {TIMEOUT}s")
    finished = pool.store.list_jobs()
    runs = sum(job.attempts for job in finished)
    completed = sum(job.status is JobStatus.COMPLETED for job in finished)
    _check(jobs, completed, runs, failing=failing)
    return Run(elapsed, runs)


# --- concurrent.futures ------------------------------------------------------------------


def nothing() -> None:
    """The no-op job body."""


def executor_run(jobs: int) -> Run:
    """The same no-op callables through a bare ``ThreadPoolExecutor`` with 4 threads."""
    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as executor:
        futures = [executor.submit(nothing) for _ in range(jobs)]
        done, not_done = wait(futures, TIMEOUT)
    elapsed = time.perf_counter() - started
    if not_done:
        raise BenchmarkError(f"{len(not_done)} executor futures did not finish")
    return Run(elapsed, len(done))


# --- Huey ----------------------------------------------------------------------------------


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


def huey_run(jobs: int, *, failing: bool = False) -> Run:
    """Jobs through ``MemoryHuey`` and an in-process consumer with 4 worker threads.

    A failing task gets ``retries=2``: Huey counts retries after the first run, so that is
    three runs, the same as ``max_retries=3`` in jobqueue_lab. The consumer's idle polling
    starts at 1 ms and never exceeds 10 ms, so Huey never waits long on an empty queue.
    """
    huey = MemoryHuey("bench")
    tally = Tally(jobs)
    huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(tally.record)

    @huey.task(retries=RUNS_PER_JOB - 1 if failing else 0)
    def work(fails: bool) -> None:
        if fails:
            raise RuntimeError("flaky jobs always fail")

    consumer = InProcessConsumer(
        huey, workers=WORKERS, periodic=False, initial_delay=0.001, max_delay=0.01
    )
    with _silenced("huey"):
        started = time.perf_counter()
        consumer.start()
        for number in range(jobs):
            work(failing and job_fails(number))
        settled = tally.all_settled.wait(TIMEOUT)
        consumer.stop(graceful=True)
        elapsed = time.perf_counter() - started

    if not settled:
        raise BenchmarkError(f"Huey did not settle {jobs} tasks in {TIMEOUT}s")
    _check(jobs, tally.completed, tally.runs, failing=failing)
    return Run(elapsed, tally.runs)


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


def _check(jobs: int, completed: int, runs: int, *, failing: bool) -> None:
    want_completed = jobs - jobs // 2 if failing else jobs
    want_runs = expected_runs(jobs, failing=failing)
    if completed != want_completed or runs != want_runs:
        raise BenchmarkError(
            f"expected {want_completed} completed and {want_runs} runs, "
            f"got {completed} completed and {runs} runs"
        )
