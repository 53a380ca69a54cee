"""The store contract, written down once: what every job store promises its callers.

Workers, the sweeper, the pool, the tables and the checker talk to a store only through these
methods, so any store that keeps this contract can stand behind them. ``InMemoryJobStore`` is the
one the course builds first; its methods are short because the promises live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from .audit import Transition
from .domain import Job, JobStatus


@runtime_checkable
class JobStore(Protocol):
    """The single owner of job state.

    Promises that hold for every method:

    * **Snapshots out.** Every method that returns a job returns an immutable ``Job`` snapshot,
      never the record the store keeps.
    * **All or nothing.** A write either applies its whole change (status, attempts, error, the
      audit entry) at once, or changes nothing at all except, for a refused request, one audit
      entry that says why.
    * **Typed refusals.** Bad arguments raise ``TypeError`` (wrong kind) or ``ValueError``
      (wrong value) before anything changes; an unknown id raises ``JobNotFound``; a move the
      transition table forbids raises ``InvalidTransition``.
    * **Everything is audited.** Each accepted or refused write appends one ``Transition``.
    * ``actor`` names who asked, for the audit log; ``None`` means the calling thread.
    * **Claims are leases, and fenced.** Each claim of a job gets the next claim number (never
      repeated) and a lease of ``lease_seconds``. Only the current claim may report an
      outcome, renew or release; any other raises ``StaleClaim`` and is audited.
    * Times (leases, ``retry_at``, ``now()``) are in the store's clock.
    """

    lease_seconds: float

    def create_job(
        self,
        type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        max_retries: int = 3,
        actor: str | None = None,
    ) -> Job:
        """Store a new pending job with a fresh, unique id. The payload (a JSON-compatible
        dict) is copied and frozen, so later changes to the caller's dict change nothing."""
        ...

    def claim_job(
        self, job_id: str, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Move one pending job to processing, count the attempt, take the next claim number
        and grant a lease, as one step. Returns ``None`` (and audits the refusal) when the job
        is not pending: of many callers racing for one job, exactly one gets it."""
        ...

    def claim_next(
        self, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Claim the pending job that has waited longest, as ``claim_job`` does, or return
        ``None`` when no job is pending. Workers that share no queue use this."""
        ...

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
        """Apply a worker's signal: status and error set together, checked against the
        transition table. Failing needs a non-empty ``last_error``; other moves take none.
        Back to pending only while ``may_retry`` allows. With ``claim``, the report is refused
        (``StaleClaim``) unless that claim holds the job. ``permanent`` fails it for good.
        A failure that may be retried gets ``retry_at`` from the store's backoff policy."""
        ...

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Move every failed job that may retry and is due (``retry_at`` passed) back to
        pending, in creation order, and return them. Each keeps its ``last_error``."""
        ...

    def renew_lease(
        self,
        job_id: str,
        claim: int,
        *,
        actor: str | None = None,
        lease_seconds: float | None = None,
    ) -> Job:
        """A heartbeat: the lease of ``claim`` runs ``lease_seconds`` from now."""
        ...

    def release_job(self, job_id: str, claim: int, *, actor: str | None = None) -> Job:
        """The recovery move: the claim holder gives the job back to pending, and the attempt
        it had started is not counted."""
        ...

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        """Fail every processing job whose lease ran out, saying so in ``last_error`` and
        counting the attempt; return them in creation order."""
        ...

    def requeue(self, job_id: str, *, actor: str | None = None) -> Job:
        """Give a dead job (failed for good) a fresh budget of attempts, back in pending."""
        ...

    def get_job(self, job_id: str) -> Job:
        """The current snapshot of one job."""
        ...

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """All jobs, or those in one status, in creation order."""
        ...

    def get_failed_jobs(self) -> list[Job]:
        """Failed jobs in creation order, each with its ``last_error``."""
        ...

    def get_dead_jobs(self) -> list[Job]:
        """The dead-letter view: failed jobs that will never be retried, in creation order."""
        ...

    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, longest waiting first, at most ``limit``; costs what it
        returns, so a sweeper may ask often."""
        ...

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status, zeros included."""
        ...

    def transitions(self, start: int = 0) -> list[Transition]:
        """The audit log from entry ``start`` on, oldest first."""
        ...

    def now(self) -> float:
        """The store's clock."""
        ...

    def all_settled(self) -> bool:
        """True when every job is completed or failed for good."""
        ...

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until ``all_settled()`` or until ``timeout`` seconds pass (``None`` or
        ``math.inf``: no limit); return which."""
        ...
