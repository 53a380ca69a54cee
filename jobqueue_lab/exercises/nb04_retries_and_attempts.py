"""Checks for notebook 04, retries and attempts: predicting an outcome, translating a limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..domain import Job, JobStatus
from ..failures import simulated_work
from ..pool import WorkerPool
from .feedback import Problems, attempt, limited

GRID = [
    (max_retries, succeeds_from) for max_retries in range(1, 5) for succeeds_from in range(1, 6)
]
"""Every (max_retries, succeeds_from) pair the prediction check runs."""

SETTLE_SECONDS = 10


class FailUntilPayload:
    """A policy reading its threshold from the job: attempts before ``succeeds_from`` fail."""

    def __call__(self, job: Job) -> str | None:
        if job.attempts < job.payload["succeeds_from"]:
            return f"temporary failure on attempt {job.attempts}"
        return None


def check_predict_outcome(predict_outcome: Callable[[int, int], tuple[str, int]]) -> Problems:
    """Predict how a job ends without running it.

    ``predict_outcome(max_retries, succeeds_from)`` returns ``(status, attempts)`` for a job
    whose attempts fail until attempt number ``succeeds_from``. The check runs every case in a
    real pool and compares.
    """
    truth = real_outcomes(GRID)
    if truth is None:
        return [
            f"the check's own pool run did not settle within {SETTLE_SECONDS} seconds, so "
            "there is nothing to compare with; the machine may be busy, so run the check again"
        ]
    problems = []
    for max_retries, succeeds_from in GRID:
        answer, problem = attempt(predict_outcome, max_retries, succeeds_from)
        if problem is not None:
            problems.append(problem)
            continue
        if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], JobStatus):
            answer = (answer[0].value, answer[1])
        expected = truth[(max_retries, succeeds_from)]
        if answer != expected:
            problems.append(
                f"max_retries={max_retries}, succeeds from attempt {succeeds_from}: "
                f"you predicted {answer!r}, the run gave {expected!r}"
            )
    return limited(problems, most=3)


def real_outcomes(
    grid: Sequence[tuple[int, int]],
) -> dict[tuple[int, int], tuple[str, int]] | None:
    """Run one job per (max_retries, succeeds_from) pair through a real pool, and return how
    each ended as ``(status, attempts)``; ``None`` if the run did not settle in time."""
    handler = simulated_work(fail=FailUntilPayload())
    with WorkerPool(workers=2, handler=handler, sweeper_interval=0.002) as pool:
        ids = {
            pair: pool.submit("sync", {"succeeds_from": pair[1]}, max_retries=pair[0]).id
            for pair in grid
        }
        if not pool.wait(timeout=SETTLE_SECONDS):
            return None
    jobs = {pair: pool.store.get_job(job_id) for pair, job_id in ids.items()}
    return {pair: (job.status.value, job.attempts) for pair, job in jobs.items()}


def check_celery_max_retries(celery_max_retries: Callable[[int], int]) -> Problems:
    """Translate this course's ``max_retries`` (attempts in total) into Celery's.

    The answer must make Celery run a job as many times in all as this course would.
    """
    problems = []
    for total in range(1, 7):
        answer, problem = attempt(celery_max_retries, total)
        if problem is not None:
            problems.append(problem)
        elif not isinstance(answer, int) or isinstance(answer, bool):
            problems.append(f"celery_max_retries({total}) returned {answer!r}; return an int")
        elif celery_runs(answer) != total:
            problems.append(
                f"celery_max_retries({total}) returned {answer}: with Celery's "
                f"max_retries={answer} a job may run {celery_runs(answer)} times, not {total}"
            )
    return limited(problems, most=3)


def celery_runs(max_retries: int) -> int:
    """How many times Celery may run a task: the first run, then up to ``max_retries`` retries."""
    return 1 + max_retries
