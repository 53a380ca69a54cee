"""The honest peer: ``ThreadPoolExecutor`` with 4 threads doing a minimal queue's bookkeeping.

A bare executor forgets a job once it has run. Any queue a course could teach must at least
remember each job, let one worker claim it, record the outcome and say what happened. This
peer does exactly that and nothing more: a mutable record per job in a dict behind one lock,
claimed and completed under that lock, and an audit tuple appended per change. Against it,
the pool's extra cost is what the lessons cost: immutable snapshots, the transition table,
input checks, waiting on a settled store, the sweeper and the work queue.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from ..diagnostics.breakdown import StepTimes, time_steps
from ..harness.jobs import TIMEOUT, WORKERS, BenchmarkError, check_outcome
from ..harness.timing import Measured, Section

Audit = tuple[float, str, str | None, str]


class MinimalQueue:
    """Job records and their audit trail behind one lock; no checks beyond "is it pending"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.records: dict[str, dict[str, Any]] = {}
        self.audit: list[Audit] = []

    def create(self) -> str:
        with self._lock:
            job_id = f"job-{next(self._ids):03d}"
            self.records[job_id] = {"status": "pending", "attempts": 0, "last_error": None}
            self.audit.append((time.monotonic(), job_id, None, "pending"))
        return job_id

    def claim(self, job_id: str) -> bool:
        with self._lock:
            record = self.records[job_id]
            if record["status"] != "pending":
                return False
            record["status"] = "processing"
            record["attempts"] += 1
            self.audit.append((time.monotonic(), job_id, "pending", "processing"))
        return True

    def complete(self, job_id: str) -> None:
        with self._lock:
            self.records[job_id]["status"] = "completed"
            self.audit.append((time.monotonic(), job_id, "processing", "completed"))


def run_job(queue: MinimalQueue, job_id: str, body: Callable[[], object]) -> None:
    """What each executor thread does with a job: claim it, run the body, complete it."""
    if queue.claim(job_id):
        body()
        queue.complete(job_id)


def noop(jobs: int, workers: int = WORKERS) -> Measured:
    """``jobs`` no-op jobs, each created, claimed, run and completed, then every future awaited."""
    runs = itertools.count()
    queue = MinimalQueue()
    with Section() as section, ThreadPoolExecutor(workers) as executor:
        futures = [
            executor.submit(run_job, queue, queue.create(), runs.__next__) for _ in range(jobs)
        ]
        _, not_done = wait(futures, TIMEOUT)
    if not_done:
        raise BenchmarkError(f"{len(not_done)} executor futures did not finish")
    completed = sum(record["status"] == "completed" for record in queue.records.values())
    if len(queue.audit) != 3 * jobs:
        raise BenchmarkError(f"expected {3 * jobs} audit entries, got {len(queue.audit)}")
    done = next(runs)
    check_outcome(jobs, completed, done, failing=False)
    return section.measured(done)


def steps(jobs: int) -> StepTimes:
    """Microseconds per create, claim and complete of the minimal queue."""
    queue = MinimalQueue()
    return time_steps(queue.create, queue.claim, queue.complete, jobs)
