"""Worked solution for notebook 09, leases and fencing: keeping the lease of a long job alive."""

from jobqueue_lab import heartbeat


def long_export(job, step):
    """Export in three steps of 20 s each (on the store's clock), under a 30 s lease.

    After each step the worker says "still at work" with ``heartbeat()``, which moves the
    deadline to 30 s from now. A step takes 20 s, so the lease never runs out while the worker
    is busy; if the worker hung inside a step, its heartbeats would stop and the lease would
    run out, which is the point of having one. ``heartbeat()`` returns False once the claim
    has lost the job: the work is someone else's then, so there is no point going on.
    """
    for _ in range(3):
        step(job)
        if not heartbeat():
            return
