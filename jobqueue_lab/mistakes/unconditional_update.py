"""Lost update across processes: the store reads the row, decides in Python, and writes its
decision back with an UPDATE that does not ask whether the row is still the one it read.

Correct counterpart: ``SQLiteJobStore.claim_job`` (written once, in ``sql_store``), which reads
and writes in one transaction, and writes with ``UPDATE ... WHERE number = ? AND status = ? AND
claim = ?``: a write decided on a row that has changed since then changes nothing.
"""

from __future__ import annotations

import os
from typing import Any

from ..decisions import next_snapshot
from ..domain import PENDING, PROCESSING, Job
from ..sql_store import _number
from ..sqlite_store import SQLiteJobStore
from .hooks import Hook, carry_on

WRITE_BACK = """
    UPDATE jobs SET status = ?, attempts = ?, claim = ?, claimed_by = ?,
        lease_expires_at = ?, lease_seconds = ?
    WHERE number = ?"""
"""The broken write: "this row is now what I decided", whatever the row holds by then."""


class UnconditionalUpdateStore(SQLiteJobStore):
    """The SQLite store, except that ``claim_job`` reads the job and writes it back in two steps,
    and its write changes the row whatever it holds by then.

    Two processes claiming one job can both read "pending, 0 attempts, claim 0", both decide the
    job is theirs, and both write "processing, 1 attempt, claim 1". Both are told the job is
    theirs, under the same claim number, so not even fencing can tell them apart, and the job
    shows one attempt for two runs. In one process a lock kept two threads apart (notebook 05);
    processes share no lock, only the database, so the check has to happen in the database.
    ``race_window`` is called between the read and the write.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, race_window: Hook = carry_on, **options: Any
    ) -> None:
        super().__init__(path, **options)
        self._race_window = race_window

    def claim_job(
        self, job_id: str, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        # A deliberate copy of SQLJobStore.claim_job, to read beside it: the read is not part
        # of the write's transaction, and the write does not say which row it expects to find.
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        job = self.get_job(job_id)
        if job.status is not PENDING:
            return None
        self._race_window(job)
        at = self._now()
        claimed = next_snapshot(
            job,
            PROCESSING,
            attempts=job.attempts + 1,
            claim=job.claim + 1,
            claimed_by=actor,
            lease_expires_at=at + lease,
        )
        row = (PROCESSING.value, claimed.attempts, claimed.claim, actor, at + lease, lease)
        with self._transaction() as db:
            db.execute(WRITE_BACK, (*row, _number(job_id)))
            self._record(db, at, job_id, PENDING, PROCESSING, True, actor, None, claimed.claim)
        return claimed
