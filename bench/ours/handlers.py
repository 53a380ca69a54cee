"""The handlers the bench's worker processes run: ``python -m jobqueue_lab worker --handler
bench.ours.handlers:run_job`` (or ``:note_pickup``)."""

from __future__ import annotations

import os
import time

from jobqueue_lab.domain import Job


def run_job(job: Job) -> None:
    """Nothing, or a failure when the job's payload says it fails."""
    if job.payload["fails"]:
        raise RuntimeError("flaky jobs always fail")


def note_pickup(job: Job) -> None:
    """Append how long the job waited, from the wall-clock time its payload was made (just
    before ``create_job``) to now, to the file the payload names. A line this short is written
    by one ``write`` in append mode, so lines from several processes never mix."""
    waited = time.time() - job.payload["created"]
    with open(job.payload["pickups"], "a") as pickups:
        pickups.write(f"{waited!r}{os.linesep}")
