"""The bare peer: ``concurrent.futures.ThreadPoolExecutor`` with 4 threads, no bookkeeping.

It keeps no record of a job beyond its future, so it is the fastest thing a thread pool
can do here. The job body counts its run, as every system's does.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor, wait

from ..harness.jobs import TIMEOUT, WORKERS, BenchmarkError, check_outcome
from ..harness.timing import Measured, Section


def noop(jobs: int, workers: int = WORKERS) -> Measured:
    """The no-op body submitted ``jobs`` times, then every future waited for."""
    runs = itertools.count()
    with Section() as section, ThreadPoolExecutor(workers) as executor:
        futures = [executor.submit(next, runs) for _ in range(jobs)]
        _, not_done = wait(futures, TIMEOUT)
    if not_done:
        raise BenchmarkError(f"{len(not_done)} executor futures did not finish")
    done = next(runs)
    check_outcome(jobs, done, done, failing=False)
    return section.measured(done)
