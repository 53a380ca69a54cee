"""Checks for notebook 02, failure handling: a failure policy, and signalling an outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any

from .. import InMemoryJobStore, Job, JobStatus, WorkerPool, simulated_work
from .feedback import Problems, attempt, broken_rules, limited

REPORT_CASES: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("report", {"pages": 250}, True),
    ("report", {"pages": 101}, True),
    ("report", {"pages": 100}, False),
    ("report", {"pages": 3}, False),
    ("report", {}, False),
    ("email", {"pages": 500}, False),
    ("email", {"to": "ada@example.org"}, False),
)
"""Jobs for the policy check: type, payload, and whether the policy should fail them."""

SETTLE_SECONDS = 10

FROZEN_HINT = (
    "a Job is a frozen snapshot, so nobody can change its fields. Ask the store for the "
    "change instead, with store.update_status"
)


def check_fail_big_reports(fail_big_reports: Callable[[Job], str | None]) -> Problems:
    """A failure policy for report jobs of more than 100 pages.

    It returns a message (a non-empty str) for those jobs, and ``None`` for every other job,
    including jobs with no "pages" in their payload. It must be deterministic, and a pool run
    with it must keep every invariant.
    """
    store = InMemoryJobStore()
    problems = []
    for job_type, payload, should_fail in REPORT_CASES:
        job = store.create_job(job_type, payload)
        described = f"the {job_type} job with payload {payload}"
        first, problem = attempt(fail_big_reports, job)
        if problem is None:
            second, problem = attempt(fail_big_reports, job)
        if problem is not None:
            problems.append(f"for {described}: {problem}")
        elif first != second:
            problems.append(f"for {described} it answered differently when asked twice")
        elif should_fail and not (isinstance(first, str) and first.strip()):
            problems.append(f"{described} should fail, with a message, but it returned {first!r}")
        elif not should_fail and first is not None:
            hint = " (no error is None, never an empty string)" if first == "" else ""
            problems.append(f"{described} should succeed (return None) but got {first!r}{hint}")
    if problems:
        return limited(problems)
    with WorkerPool(workers=2, handler=simulated_work(fail=fail_big_reports)) as pool:
        for job_type, payload, _ in REPORT_CASES:
            pool.submit(job_type, payload, max_retries=1)
        if not pool.wait(timeout=SETTLE_SECONDS):
            return [
                f"a pool run with your policy did not settle within {SETTLE_SECONDS} seconds; "
                "the machine may be busy, so run the check again"
            ]
    return broken_rules(pool.store)


def check_report_outcome(
    report_outcome: Callable[[InMemoryJobStore, str, str | None], Any],
) -> Problems:
    """``report_outcome(store, job_id, error)`` signals a claimed job's outcome.

    ``error`` is ``None`` when the work succeeded (the job becomes completed) or the reason it
    failed (the job becomes failed, with that reason as ``last_error``). The store makes the change.
    """
    problems = []
    for error, expected in ((None, JobStatus.COMPLETED), ("disk full", JobStatus.FAILED)):
        store = InMemoryJobStore()
        job = store.claim_job(store.create_job("report").id, actor="worker-1")
        call = f"report_outcome(store, {job.id!r}, {error!r})"
        _, problem = attempt(
            report_outcome,
            store,
            job.id,
            error,
            call=call,
            hints={FrozenInstanceError: FROZEN_HINT},
        )
        if problem is not None:
            problems.append(problem)
            continue
        after = store.get_job(job.id)
        if after.status is not expected:
            problems.append(
                f"after {call} the job is {after.status.value}; it should be {expected.value}"
            )
        elif after.last_error != error:
            problems.append(
                f"after {call} last_error is {after.last_error!r}; it should be {error!r}"
            )
        elif not _accepted_by_the_store(store, job.id, expected):
            problems.append(
                f"after {call} the audit log has no accepted change of {job.id} to "
                f"{expected.value}: the job was changed behind the store's back, so nothing "
                "checked the move and nobody can see it happened. Ask the store for the change"
            )
    return problems


def _accepted_by_the_store(store: InMemoryJobStore, job_id: str, status: JobStatus) -> bool:
    """True when the audit log shows the store accepting a move of ``job_id`` to ``status``."""
    return any(
        t.accepted and t.job_id == job_id and t.to_status is status for t in store.transitions()
    )
