"""Worked solution for notebook 05, the sweeper."""

from collections.abc import Callable

from jobqueue_lab import InMemoryJobStore


def sweep(store: InMemoryJobStore, enqueue: Callable[[str], bool]) -> None:
    """One pass of a sweeper: retry what may be retried, then queue every pending job.

    The store decides which failed jobs still have attempts left, and moves them back to
    pending under its lock; the sweeper only asks. Retrying first means a job sent back now is
    queued in this same pass instead of waiting for the next one.
    """
    store.retry_failed_jobs(actor="sweeper")
    for job in store.get_pending_jobs():
        enqueue(job.id)
