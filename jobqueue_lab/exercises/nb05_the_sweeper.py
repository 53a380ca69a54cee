"""Checks for notebook 05, the sweeper: one sweep, written by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain import Job, JobStatus
from ..stores.memory import InMemoryJobStore
from .feedback import Problems, attempt, broken_rules, described, limited

JOBS: tuple[tuple[str, int, JobStatus, int], ...] = (
    ("report", 3, JobStatus.COMPLETED, 1),
    ("email", 2, JobStatus.FAILED, 2),
    ("sync", 3, JobStatus.COMPLETED, 2),
)
"""The jobs the check runs: type, max_retries, and the status and attempts they end with."""

ROUNDS = 8
"""How many times the check sweeps: more than the jobs need, as a sweeper keeps sweeping."""


def failure(job: Job) -> str | None:
    """email always fails; sync fails its first attempt only; every other job works."""
    if job.type == "email":
        return "mail server did not answer"
    if job.type == "sync" and job.attempts < 2:
        return f"remote busy on attempt {job.attempts}"
    return None


def check_sweep(sweep: Callable[[InMemoryJobStore, Callable[[str], bool]], Any]) -> Problems:
    """``sweep(store, enqueue)`` is one pass of a sweeper, written by hand.

    The check plays the workers. Each round it calls ``sweep`` once, then claims, runs and
    reports every id the sweep queued. Every job must settle the way its failures dictate; a
    sweep must leave no pending job unqueued (so it retries first, then queues, and a job sent
    back is queued in the same sweep); no id may be queued twice in one sweep, or queued when
    it is not pending; and the run must keep every invariant.
    """
    store = InMemoryJobStore()
    for job_type, max_retries, _, _ in JOBS:
        store.create_job(job_type, max_retries=max_retries)
    problems: Problems = []
    for _ in range(ROUNDS):
        log_before = len(store.transitions())
        queued, enqueue = _recording_queue()
        _, problem = attempt(sweep, store, enqueue, call="sweep(store, enqueue)")
        if problem is not None:
            return [problem]
        problems += _left_out(store, queued, retried=_retried_since(store, log_before))
        problems += _work_off(store, queued)
        if problems:
            break
    if not problems:
        problems = _unsettled(store)
    if not problems:
        problems = broken_rules(store)
    return limited(list(dict.fromkeys(problems)))


def _recording_queue() -> tuple[list[object], Callable[[str], bool]]:
    """An ``enqueue`` that writes down every id it is given (and always accepts it)."""
    queued: list[object] = []

    def enqueue(job_id: str) -> bool:
        queued.append(job_id)
        return True

    return queued, enqueue


def _retried_since(store: InMemoryJobStore, start: int) -> set[str]:
    """The jobs sent back from failed to pending since audit-log entry ``start``."""
    return {
        t.job_id
        for t in store.transitions(start)
        if t.accepted and t.from_status is JobStatus.FAILED and t.to_status is JobStatus.PENDING
    }


def _left_out(store: InMemoryJobStore, queued: list[object], retried: set[str]) -> Problems:
    """A problem for every job left pending by a sweep without being offered to the queue."""
    problems = []
    for job in store.get_pending_jobs():
        if job.id in queued:
            continue
        if job.id in retried:
            problems.append(
                f"{job.id} was sent back to pending by a sweep but not queued by it: retry "
                "first, then offer every pending job, so a job sent back is queued in the "
                "same sweep instead of waiting for the next one"
            )
        else:
            problems.append(f"{job.id} was pending but the sweep did not offer it to the queue")
    return problems


def _work_off(store: InMemoryJobStore, queued: list[object]) -> Problems:
    """Play the workers on every queued id, in order; a problem for each id that was wrong."""
    problems = []
    done: list[object] = []
    for job_id in queued:
        if job_id in done:
            problems.append(f"{job_id} was queued twice in one sweep: once is enough")
            continue
        done.append(job_id)
        problem = _work_by_hand(store, job_id)
        if problem is not None:
            problems.append(problem)
    return problems


def _work_by_hand(store: InMemoryJobStore, job_id: object) -> str | None:
    """Play a worker on one queued id: claim, run, signal. Returns a problem, if there is one."""
    if not isinstance(job_id, str):
        return f"enqueue was given {described(job_id)}; give it the job's id (job.id)"
    if job_id not in {job.id for job in store.list_jobs()}:
        return f"enqueue was given {job_id!r}, which is not the id of any job"
    job = store.claim_job(job_id, actor="worker-1")
    if job is None:
        status = store.get_job(job_id).status.value
        return f"{job_id} was queued while it was {status}: queue pending jobs only"
    error = failure(job)
    if error is None:
        store.update_status(job_id, JobStatus.COMPLETED, actor="worker-1")
    else:
        store.update_status(job_id, JobStatus.FAILED, error, actor="worker-1")
    return None


def _unsettled(store: InMemoryJobStore) -> Problems:
    """A problem for every job that did not end the way its failures dictate."""
    problems = []
    for job, (_, _, status, attempts) in zip(store.list_jobs(), JOBS):
        if (job.status, job.attempts) == (status, attempts):
            continue
        if job.can_retry:
            why = "a failed job with attempts left should go back to pending"
        elif job.status is JobStatus.PENDING:
            why = "every pending job should be put on the queue"
        else:
            why = f"it should end {status.value} after {attempts} attempt(s)"
        problems.append(
            f"{job.id} ({job.type}) is {job.status.value} with {job.attempts} of "
            f"{job.max_retries} attempts used after {ROUNDS} rounds: {why}"
        )
    return problems
