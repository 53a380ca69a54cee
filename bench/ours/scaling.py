"""Scaling: the cost of reading failed jobs and of one sweep, in a small and a huge store.

Both stores hold the same 100 failed jobs; only the number of completed jobs around them
differs. If the cost follows the failed jobs, the two timings match. Each size is measured in
its own process, so the huge store's heap does not slow the small one down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobqueue_lab import InMemoryJobStore, Sweeper

from ..harness.timing import gc_paused, median, seconds
from .workload import add_completed_jobs, add_failed_jobs, fail_again

FAILED_JOBS = 100
CALLS_PER_SAMPLE = 10


@dataclass(frozen=True)
class ScalingTimes:
    """Median seconds for one call, in a store with ``completed`` completed jobs."""

    completed: int
    get_failed_jobs: float
    sweep: float


def measure(completed: int, samples: int) -> ScalingTimes:
    """Build a store with ``completed`` completed and 100 failed jobs, then time both reads.

    The sweep retries the 100 failed jobs and offers them to a queue that takes them all,
    at most 100 per sweep as a pool's sweeper would; they are failed again between samples.
    """
    store = InMemoryJobStore()
    add_completed_jobs(store, completed)
    failing = add_failed_jobs(store, FAILED_JOBS)
    read = median([_per_call(store.get_failed_jobs) for _ in range(samples)])
    sweeper = Sweeper(store, lambda job_id: True, batch=FAILED_JOBS)
    sweeps = []
    for _ in range(samples):
        sweeps.append(_once(sweeper.sweep_once))
        fail_again(store, failing)
    return ScalingTimes(completed, read, median(sweeps))


def _per_call(action: Callable[[], object]) -> float:
    """Seconds per call, over a few calls (one alone is too short to time well)."""
    with gc_paused():
        return seconds(lambda: [action() for _ in range(CALLS_PER_SAMPLE)]) / CALLS_PER_SAMPLE


def _once(action: Callable[[], object]) -> float:
    with gc_paused():
        return seconds(action)
