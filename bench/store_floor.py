"""The store floor: one thread creating, claiming and completing jobs.

The floor is the least any thread-safe store could do: a plain dict of small dicts behind one
``threading.Lock``, with the same three updates and none of the rest (no snapshots, no
transition table, no audit log, no input checks).
"""

from __future__ import annotations

import threading
import time

from jobqueue_lab import InMemoryJobStore

from .workload import add_completed_jobs


def store_seconds(cycles: int) -> float:
    """Seconds for ``cycles`` create-claim-complete cycles through ``InMemoryJobStore``."""
    store = InMemoryJobStore()
    started = time.perf_counter()
    add_completed_jobs(store, cycles)
    return time.perf_counter() - started


def locked_dict_seconds(cycles: int) -> float:
    """Seconds for the same cycles on a dict guarded by a lock."""
    lock = threading.Lock()
    jobs: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    for number in range(1, cycles + 1):
        job_id = f"job-{number:03d}"
        with lock:
            jobs[job_id] = {"type": "done", "status": "pending", "attempts": 0, "last_error": None}
        with lock:
            job = jobs[job_id]
            job["status"] = "processing"
            job["attempts"] += 1
        with lock:
            jobs[job_id]["status"] = "completed"
    return time.perf_counter() - started
