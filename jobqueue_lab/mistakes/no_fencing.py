"""No fencing: a worker that lost its job and reports late overwrites the outcome of the attempt
that replaced it.

Correct counterpart: ``InMemoryJobStore.update_status``, which refuses a report from any claim
but the one that holds the job (``StaleClaim``), and writes the refusal in the audit log.
"""

from __future__ import annotations

from ..domain import Job, JobStatus
from ..errors import StaleClaim
from ..store import InMemoryJobStore


class UnfencedStore(InMemoryJobStore):
    """The real store, except that it never asks whether a report's claim still holds the job.

    Leases run out and jobs are recovered as they should be; but when the lost worker comes back
    ("a zombie") and reports, its report is applied as if it were current. The audit log still
    records which claim each report came from, which is how the checker catches it.
    """

    def _fence(self, job: Job, to_status: JobStatus, claim: int | None) -> StaleClaim | None:
        return None
