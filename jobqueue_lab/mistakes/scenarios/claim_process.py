"""One of the two processes in the lost-update scenario: it claims a job, and says what it was told.

    python -m jobqueue_lab.mistakes.scenarios.claim_process SIDE DATABASE JOB_ID NAME FOLDER TIMEOUT

SIDE ``broken`` opens ``UnconditionalUpdateStore`` and is held at its race window, between its
read and its write, until the other process has read too. SIDE ``correct`` opens the real
``SQLiteJobStore``, whose claim has no inside to hold anyone in, and is held just before
``claim_job``. Either way the two processes claim at the same moment on every run.

The process writes what the store told it to ``FOLDER/NAME.answer`` ("granted CLAIM" or
"refused"), waits until the other process has its answer too, so that two granted claims were
held at the same time, and then reports the job completed. It prints nothing.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ...domain import COMPLETED
from ...errors import InvalidTransition, StaleClaim
from ...stores.sqlite import SQLiteJobStore
from ..hooks import ProcessMeetingPoint
from ..unconditional_update import UnconditionalUpdateStore

PARTIES = 2


def main(side: str, database: str, job_id: str, name: str, folder: str, timeout: str) -> None:
    meeting = ProcessMeetingPoint(folder, name, PARTIES, float(timeout))
    if side == "broken":
        store = UnconditionalUpdateStore(database, race_window=meeting.hook("read"))
    else:
        store = SQLiteJobStore(database)
        meeting.wait("read")
    with store:
        job = store.claim_job(job_id, actor=name)
        answer = "refused" if job is None else f"granted {job.claim}"
        (Path(folder) / f"{name}.answer").write_text(answer)
        meeting.wait("answered")
        if job is not None:
            with contextlib.suppress(InvalidTransition, StaleClaim):  # the other one finished it
                store.update_status(job_id, COMPLETED, claim=job.claim, actor=name)


if __name__ == "__main__":
    main(*sys.argv[1:])
