"""Checks for notebook 11, processes on one machine: what a process may do about other
processes' jobs when it starts."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    Job,
    ManualClock,
    SQLiteJobStore,
    StaleClaim,
)
from .feedback import Problems, attempt

LEASE = 30.0
CRASH_AT = 40.0
"""The store's clock when the new process starts: process-1's lease (from 0 s) has run out,
process-2's (from 25 s) has not."""


def check_on_startup(on_startup: Callable[[Any], Any]) -> Problems:
    """``on_startup(store)`` is what a worker process does when it starts on a shared store.

    Before it started, process-1 claimed job-001 at 0 s and died with its machine; process-2, on
    another machine, claimed job-002 at 25 s and is still at work; job-003 waits and job-004 is
    done. The new process opens the store at 40 s and calls ``on_startup``. Wanted: job-001's
    lost attempt recovered and counted (it failed, with a reason, and may be retried), the
    other jobs untouched, and process-2's report, when it comes, accepted.
    """
    if not callable(on_startup):
        return [f"on_startup is not a function (it is a {type(on_startup).__name__})"]
    with tempfile.TemporaryDirectory(prefix="jobqueue-lab-exercise-") as folder:
        clock = ManualClock()
        path = Path(folder) / "jobs.db"
        with SQLiteJobStore(path, clock=clock, lease_seconds=LEASE) as before:
            ids = [before.create_job("report", {"n": n}).id for n in range(1, 5)]
            before.claim_job(ids[0], actor="process-1")
            before.claim_job(ids[3], actor="process-1")
            before.update_status(ids[3], COMPLETED, claim=1, actor="process-1")
            clock.advance(25)
            alive = before.claim_job(ids[1], actor="process-2")
        clock.advance(CRASH_AT - 25)
        with SQLiteJobStore(path, clock=clock, lease_seconds=LEASE) as store:
            _, problem = attempt(on_startup, store, call="on_startup(store)")
            if problem is not None:
                return [problem]
            jobs = {job.id: job for job in store.list_jobs()}
            problems = _lost_job_problems(jobs[ids[0]])
            problems += _live_job_problems(store, jobs[ids[1]], alive)
            if jobs[ids[2]].status is not PENDING or jobs[ids[3]].status is not COMPLETED:
                problems.append(
                    "job-003 (waiting) and job-004 (done) should be left as they were; they are "
                    f"{jobs[ids[2]].status.value} and {jobs[ids[3]].status.value}"
                )
    return problems


def _lost_job_problems(job: Job) -> Problems:
    if job.status is PROCESSING:
        return [
            f"job-001 is still processing, though its lease ran out at {LEASE:g} s and it is "
            f"{CRASH_AT:g} s now: process-1 died with it and will never report, so the job "
            "would wait for ever unless someone takes it back"
        ]
    if job.attempts == 0:
        return [
            "job-001 was taken back without counting the attempt that was lost with process-1: "
            "a job that kills its worker every time would then be retried for ever. Recovering "
            "an expired lease fails the attempt, as any other failure"
        ]
    if job.status not in (FAILED, PENDING) or not job.last_error:
        return [
            f"job-001 ended {job.status.value} with last_error {job.last_error!r}; it should "
            "fail with a reason (and may then be retried)"
        ]
    return []


def _live_job_problems(store: SQLiteJobStore, job: Job, alive: Job) -> Problems:
    if job.status is not PROCESSING or job.claim != alive.claim:
        return [
            f"job-002 is {job.status.value} now: process-2 on another machine was still working "
            f"on it, and its lease runs until {alive.lease_expires_at:g} s. Taking it away "
            "means it runs twice, and process-2's result will be refused. A process that "
            "starts cannot tell a live worker from a dead one, except by its lease"
        ]
    try:
        store.update_status(job.id, COMPLETED, claim=alive.claim, actor="process-2")
    except StaleClaim as refused:
        return [f"process-2's report on job-002 was refused: {refused}"]
    return []
