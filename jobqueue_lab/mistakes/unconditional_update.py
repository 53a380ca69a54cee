"""Lost update across processes: the store reads the row, decides in Python, and writes its
decision back with an UPDATE that does not ask whether the row is still the one it read.

Correct counterpart: ``JobStore.claim_job`` (``stores/contract.py``), which on a SQL store reads
and writes in one transaction, and writes with ``UPDATE ... WHERE number = ? AND status = ? AND
claim = ?`` (``SQLJobStore._save``): a write decided on a row that has changed since then
changes nothing.
"""

from __future__ import annotations

import os
from typing import Any

from ..decisions import decide_claim
from ..domain import PROCESSING, Job
from ..stores.rows import number_of
from ..stores.sqlite import SQLiteJobStore
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
    shows one attempt for two runs. In one process a lock kept two threads apart (notebook 06);
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
        # A deliberate copy of JobStore.claim_job, to read beside it: the read is not part of
        # the write's transaction, and the write does not say which row it expects to find.
        lease, actor, at = self._lease(lease_seconds), self._actor(actor), self._now()
        decision = decide_claim(self.get_job(job_id), actor, at, lease)
        claimed = decision.after
        if claimed is None:
            return None
        self._race_window(decision.job)
        row = (PROCESSING.value, claimed.attempts, claimed.claim, actor, at + lease, lease)
        with self._changing() as place:
            place.db.execute(WRITE_BACK, (*row, number_of(job_id)))
            place.entries.append(decision.entry(at, actor))  # the audit entry, as _save writes it
        return claimed
