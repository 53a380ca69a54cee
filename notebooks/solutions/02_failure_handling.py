"""Worked solution for notebook 02, exercise "signal, don't set"."""

from jobqueue_lab import InMemoryJobStore, JobStatus


def report_outcome(store: InMemoryJobStore, job_id: str, error: str | None) -> None:
    """Signal the outcome of a claimed job: completed if error is None, else failed.

    The worker only asks. The store checks the transition table and sets status and error
    together, or refuses and changes nothing.
    """
    if error is None:
        store.update_status(job_id, JobStatus.COMPLETED)
    else:
        store.update_status(job_id, JobStatus.FAILED, error)
