"""Memory: bytes per job after a long run, audit log included.

Measured in a fresh Python process, so the figure holds only what the store keeps: the
resident set size after filling the store, minus what it was before.
Run on its own: ``python -m bench.memory 1000000`` prints the figure as JSON.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from jobqueue_lab import InMemoryJobStore

from .workload import add_completed_jobs


def bytes_per_job(jobs: int) -> float:
    """Run the measurement in a child process and return its result."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.memory", str(jobs)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout)["bytes_per_job"]


def rss_bytes() -> int:
    """Memory this process holds now; where Linux's ``/proc`` is missing, the peak so far."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        resident_pages = int(statm.read_text().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure_here(jobs: int) -> float:
    gc.collect()
    before = rss_bytes()
    store = InMemoryJobStore()
    add_completed_jobs(store, jobs)
    gc.collect()
    grown = rss_bytes() - before
    if len(store) != jobs or len(store.transitions(start=3 * jobs - 1)) != 1:
        raise RuntimeError("the store does not hold what was put in it")
    return grown / jobs


if __name__ == "__main__":
    print(json.dumps({"bytes_per_job": measure_here(int(sys.argv[1]))}))
