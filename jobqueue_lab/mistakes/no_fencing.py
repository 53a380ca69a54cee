"""No fencing: a worker that lost its job and reports late overwrites the outcome of the attempt
that replaced it.

Correct counterpart: ``JobStore.update_status`` (``stores/contract.py``), which asks
``decide_report``: a report from any claim but the one that holds the job is refused
(``StaleClaim``), and the refusal is written in the audit log.
"""

from __future__ import annotations

from ..decisions import checked_report, decide_outcome
from ..domain import Job, JobStatus
from ..stores.memory import InMemoryJobStore


class UnfencedStore(InMemoryJobStore):
    """The real store, except that it never asks whether a report's claim still holds the job.

    Leases run out and jobs are recovered as they should be; but when the lost worker comes back
    ("a zombie") and reports, its report is applied as if it were current. The audit log still
    records which claim each report came from, which is how the checker catches it.
    """

    def update_status(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        *,
        claim: int | None = None,
        permanent: bool = False,
        actor: str | None = None,
    ) -> Job:
        # A deliberate copy of JobStore.update_status, to read beside it: it asks
        # decide_outcome, the part of decide_report that comes after the fence.
        report = checked_report(status, last_error, claim, permanent)
        actor, at = self._actor(actor), self._now()
        with self._changing() as place:
            job = self._read(place, job_id)
            decision = decide_outcome(job, report, actor, at, self.lease_seconds, self._backoff)
            self._save(place, decision, at, actor)
        return decision.result()
