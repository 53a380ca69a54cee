"""Checks for notebook 07, broken vs correct: a report that cannot crash, and cannot lie."""

from __future__ import annotations

from collections.abc import Callable

from ..domain import Job, JobStatus
from ..stores.memory import InMemoryJobStore
from .feedback import Problems, attempt, limited

HISTORIES: tuple[tuple[str, int, tuple[str | None, ...], bool], ...] = (
    ("report", 3, (None,), False),
    ("email", 1, ("mailbox full\nthe server said 552",), False),
    ("sync", 3, ("remote busy", None), False),
    ("sync", 3, ("remote busy",), True),
    ("report", 3, (), False),
    ("email", 3, ("mail server did not answer",), False),
)
"""Six jobs: type, max_retries, the error of each attempt (``None``: it worked), and whether
the sweeper sends the job back to pending at the end."""


def jobs_with_every_kind_of_error() -> list[Job]:
    """The jobs of ``HISTORIES``, stepped by hand: every way ``last_error`` can look.

    Completed with no error; failed for good with a two-line error; completed after a failed
    attempt (its old error kept); pending again after a failure (error kept); never run; and
    failed with attempts left.
    """
    store = InMemoryJobStore()
    for job_type, max_retries, errors, retry_at_the_end in HISTORIES:
        job_id = store.create_job(job_type, max_retries=max_retries, actor="exercise").id
        for number, error in enumerate(errors):
            if number:
                store.retry_failed_jobs(actor="sweeper")
            store.claim_job(job_id, actor="worker-1")
            status = JobStatus.COMPLETED if error is None else JobStatus.FAILED
            store.update_status(job_id, status, error, actor="worker-1")
        if retry_at_the_end:
            store.retry_failed_jobs(actor="sweeper")
    return store.list_jobs()


def check_failure_lines(failure_lines: Callable[[list[Job]], list[str]]) -> Problems:
    """``failure_lines(jobs)`` reports the jobs that are failed, one line each.

    Each line reads ``"<id>: <first line of last_error>"``, in the order the jobs come. Jobs
    that are not failed get no line, even when ``last_error`` still holds the reason an earlier
    attempt failed: the status says whether a job failed, ``last_error`` only says why.
    """
    jobs = jobs_with_every_kind_of_error()
    answer, problem = attempt(failure_lines, list(jobs), call="failure_lines(jobs)")
    if problem is not None:
        return [problem]
    if not isinstance(answer, list) or not all(isinstance(line, str) for line in answer):
        return [f"failure_lines should return a list of str, but returned {answer!r}"]
    wanted = {
        job.id: f"{job.id}: {job.last_error.splitlines()[0]}"
        for job in jobs
        if job.status is JobStatus.FAILED and job.last_error is not None
    }
    problems: Problems = []
    for job in jobs:
        mine = [line for line in answer if line.split(":")[0].strip() == job.id]
        if job.id in wanted:
            if not mine:
                problems.append(f"no line for {job.id}, which is failed: {wanted[job.id]!r}")
            elif mine != [wanted[job.id]]:
                problems.append(f"for {job.id} expected {wanted[job.id]!r}, got {mine}")
        elif mine:
            why = f"{job.id} is {job.status.value}"
            if job.last_error is not None:
                why += " (its last_error is left over from an earlier attempt)"
            problems.append(f"{why}, so it gets no line; got {mine}")
    if not problems and answer != list(wanted.values()):
        problems.append(f"expected exactly {list(wanted.values())}, got {answer}")
    return limited(problems)
