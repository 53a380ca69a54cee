"""The rows of the SQL stores' tables, and the Python values they stand for: a row of ``jobs``
and its ``Job`` snapshot, an audit entry and its row of ``audit``, a job id and its row number.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ..audit import Transition
from ..domain import Job, JobStatus, freeze_payload
from ..errors import JobNotFound


def job_from_row(row: tuple) -> Job:
    """The snapshot of one row of the ``jobs`` table (``JOB_COLUMNS``, in that order)."""
    (number, type_, status, payload, max_retries, attempts, last_error, created_at) = row[:8]
    (claim, claimed_by, lease_expires_at, lease_seconds, retry_at, permanent) = row[8:14]
    return Job(
        id=job_id_of(number),
        type=type_,
        status=JobStatus(status),
        payload=freeze_payload(json.loads(payload)),
        max_retries=max_retries,
        attempts=attempts,
        last_error=last_error,
        created_at=datetime.fromtimestamp(created_at, UTC),
        claim=claim,
        claimed_by=claimed_by,
        lease_expires_at=lease_expires_at,
        lease_seconds=lease_seconds,
        retry_at=retry_at,
        permanent=bool(permanent),
    )


def audit_row(entry: tuple) -> tuple:
    """The parameters of ``Statements.record`` for one entry (its time is given twice)."""
    at, job_id, from_status, to_status, accepted, actor, detail, claim, lease = entry
    from_value = None if from_status is None else from_status.value
    return (at, at, job_id, from_value, to_status.value, accepted, actor, detail, claim, lease)


def transition(row: tuple, started: float) -> Transition:
    """The ``Transition`` of one row of ``audit`` (``Statements.transitions``); its time counts
    from ``started``, when the store was first made."""
    at, job_id, from_status, to_status, accepted, actor, detail, claim, lease = row
    return Transition(
        at - started,
        job_id,
        None if from_status is None else JobStatus(from_status),
        JobStatus(to_status),
        bool(accepted),
        actor,
        detail,
        claim,
        lease,
    )


def job_id_of(number: int) -> str:
    """The id of the job in row ``number``: ``job-001``, as ``sequential_ids`` would name it."""
    return f"job-{number:03d}"


def number_of(job_id: object) -> int:
    """The row number behind a job id, or ``JobNotFound`` for an id no job could have."""
    if isinstance(job_id, str) and job_id.startswith("job-"):
        digits = job_id[4:]
        if digits.isascii() and digits.isdigit() and len(digits) < 19:
            number = int(digits)
            if job_id_of(number) == job_id:
                return number
    raise JobNotFound(job_id)  # type: ignore[arg-type]
