"""Checks for notebook 02, failure handling: signalling an outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any

from .. import InMemoryJobStore, JobStatus
from .feedback import Problems, attempt

FROZEN_HINT = (
    "a Job is a frozen snapshot, so nobody can change its fields. Ask the store for the "
    "change instead, with store.update_status"
)


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
