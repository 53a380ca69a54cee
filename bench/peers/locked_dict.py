"""The floor: the least any thread-safe store could do for a create-claim-complete cycle.

A plain dict of small dicts behind one ``threading.Lock``, with the same three updates and
none of the rest: no snapshots, no transition table, no audit log, no input checks.
"""

from __future__ import annotations

import threading

from ..harness.timing import Measured, Section


def cycles(count: int) -> Measured:
    """``count`` cycles on a dict guarded by a lock."""
    lock = threading.Lock()
    jobs: dict[str, dict[str, object]] = {}
    with Section() as section:
        for number in range(1, count + 1):
            job_id = f"job-{number:03d}"
            with lock:
                jobs[job_id] = {
                    "type": "done",
                    "status": "pending",
                    "attempts": 0,
                    "last_error": None,
                }
            with lock:
                job = jobs[job_id]
                job["status"] = "processing"
                job["attempts"] += 1
            with lock:
                jobs[job_id]["status"] = "completed"
    return section.measured(count)
