"""Worked solution for notebook 07, broken vs correct."""

from jobqueue_lab import Job, JobStatus


def failure_lines(jobs: list[Job]) -> list[str]:
    """One line per failed job, ``"<id>: <first line of its error>"``, in the order given.

    The status decides whether a job failed. ``last_error`` is only the reason for the most
    recent failure, and the store keeps it when the job is retried, so a job that completed
    on its second attempt still carries the error of its first. A failed job always has a
    ``last_error`` in this store; the ``None`` check keeps the report safe on any store.
    """
    lines = []
    for job in jobs:
        if job.status is not JobStatus.FAILED:
            continue
        reason = "no reason recorded" if job.last_error is None else job.last_error.splitlines()[0]
        lines.append(f"{job.id}: {reason}")
    return lines
