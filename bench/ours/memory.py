"""Memory: bytes per job after a long run, audit log included.

Measured in a fresh process (see ``bench.harness.lean``), so the figure holds only what the store
keeps: the resident set size after filling the store, minus what it was before.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
from pathlib import Path

from jobqueue_lab import InMemoryJobStore

from ..harness.jobs import BenchmarkError
from .workload import COMPLETED, add_completed_jobs


def rss_bytes() -> int:
    """Memory this process holds now; where Linux's ``/proc`` is missing, the peak so far."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        resident_pages = int(statm.read_text().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def bytes_per_job(jobs: int) -> float:
    """Resident memory grown per job after ``jobs`` completed jobs (3 audit entries each)."""
    gc.collect()
    before = rss_bytes()
    store = InMemoryJobStore()
    last = add_completed_jobs(store, jobs)
    gc.collect()
    grown = rss_bytes() - before
    if last is None or last.status is not COMPLETED or store.pending_ids():
        raise BenchmarkError("the store did not complete every job")
    return grown / jobs
