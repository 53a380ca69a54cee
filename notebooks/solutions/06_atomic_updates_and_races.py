"""Worked solution for notebook 06, atomic updates and races."""

import threading


def claim(statuses: dict[str, str], lock: threading.Lock, job_id: str) -> bool:
    """Move a pending job to processing and return True; otherwise change nothing, return False.

    The read ("is it pending?") and the write ("it is processing now") happen under one lock,
    so no other thread can read the old status between them. Locking only the write would not
    help: two threads could both read "pending" first, and then both write, one after the other.
    """
    with lock:
        if statuses[job_id] != "pending":
            return False
        statuses[job_id] = "processing"
        return True
