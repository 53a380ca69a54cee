"""The store contract, written down once: what every job store promises, and the writes that
keep those promises, written once for every store.

Each write is the same four steps, whatever keeps the jobs:

1. hold the store for one change: ``with self._changing() as place`` (a lock, or a transaction);
2. read the job there and decide, with one function of ``decisions``;
3. save what was decided and record it in the audit log (``self._save``);
4. return the job after the change, or raise the refusal.

A store says only how it locks, reads and saves: the methods under "what each store provides"
at the end. ``InMemoryJobStore`` keeps jobs in a dict behind a lock, the SQL stores in a
database, one transaction per change. Workers, the sweeper, the pool, the tables and the
checker use only the public methods, so any store that keeps this contract can stand behind them.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from ..audit import Transition
from ..backoff import BackoffPolicy
from ..decisions import (
    Decision,
    Report,
    checked_claim,
    checked_lease,
    checked_report,
    created,
    decide_claim,
    decide_expiry,
    decide_release,
    decide_renewal,
    decide_report,
    decide_requeue,
    decide_retry,
    read_clock,
)
from ..domain import EMPTY_PAYLOAD, FAILED, PENDING, PROCESSING, Job, JobStatus
from ..validation import check_actor, check_job_type, check_max_retries, checked_payload


class JobStore(ABC):
    """The single owner of job state. Promises that hold for every method:

    * **Snapshots out.** Every method that returns a job returns an immutable ``Job`` snapshot,
      never the record the store keeps.
    * **All or nothing.** A write either applies its whole change (status, attempts, error, the
      audit entry) at once, or changes nothing at all except, for a refused request, one audit
      entry that says why.
    * **Typed refusals.** Bad arguments raise ``TypeError`` (wrong kind) or ``ValueError``
      (wrong value) before anything changes; an unknown id raises ``JobNotFound``; a move the
      transition table forbids raises ``InvalidTransition``.
    * **Everything is audited.** Each accepted or refused write appends one ``Transition``
      (a renewed lease, which changes no status, only when it is refused).
    * ``actor`` names who asked, for the audit log; ``None`` means the calling thread.
    * **Claims are leases, and fenced.** Each claim of a job gets the next claim number (never
      repeated) and a lease of ``lease_seconds``. Only the current claim may report an
      outcome, renew or release; any other raises ``StaleClaim`` and is audited.
    * Times (leases, ``retry_at``, ``now()``) are in the store's clock. The clock is read
      before the change starts; the backoff policy is asked during it, with the job's snapshot.

    About ``max_retries``: here it is the most *attempts in total*, so ``max_retries=3`` means a
    job runs at most three times. Celery (``max_retries``), RQ (``Retry(max=...)``) and Huey
    (``retries``) count the retries *after* the first run instead, so there 3 means up to four
    runs. To get three runs from them, ask for 2.
    """

    lease_seconds: float
    _clock: Callable[[], float]
    _backoff: BackoffPolicy

    # --- the seed's four writes ----------------------------------------------------------

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
        check_job_type(type)
        self._fits(check_max_retries(max_retries), "max_retries")
        frozen = EMPTY_PAYLOAD if payload is None else checked_payload(payload)
        new = self._new_job(self._storable(type, "job type"), frozen, max_retries)
        actor, at = self._actor(actor), self._now()
        with self._changing() as place:
            job = self._add(place, new)
            self._save(place, created(job), at, actor)
        return job

    def claim_job(
        self, job_id: str, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Move one pending job to processing, count the attempt, take the next claim number
        and grant a lease, as one step. Returns ``None`` (and audits the refusal) when the job
        is not pending: of many callers racing for one job, exactly one gets it."""
        lease, actor, at = self._lease(lease_seconds), self._actor(actor), self._now()
        with self._changing() as place:
            decision = decide_claim(self._read(place, job_id), actor, at, lease)
            self._save(place, decision, at, actor)
        return decision.after

    def claim_next(
        self, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Claim the pending job that has waited longest, as ``claim_job`` does, or return
        ``None`` when no job is pending. Workers that share no queue use this."""
        lease, actor, at = self._lease(lease_seconds), self._actor(actor), self._now()
        with self._changing() as place:
            job = self._next_in_line(place)
            if job is None:
                return None
            decision = decide_claim(job, actor, at, lease)
            self._save(place, decision, at, actor)
        return decision.after

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
        report = self._checked_report(status, last_error, claim, permanent)
        actor, at = self._actor(actor), self._now()
        with self._changing() as place:
            job = self._read(place, job_id)
            decision = decide_report(job, report, actor, at, self.lease_seconds, self._backoff)
            self._save(place, decision, at, actor)
        return decision.result()

    def report_and_claim_next(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        *,
        claim: int,
        permanent: bool = False,
        actor: str | None = None,
        lease_seconds: float | None = None,
    ) -> tuple[Job, Job | None]:
        """``update_status`` and then ``claim_next``, as one change: the job reported on, and
        the job claimed next (``None`` when none is pending). A refused report raises as
        ``update_status`` does, and then nothing is claimed.

        The result, the refusals and the audit entries are exactly those of the two calls one
        after the other. What differs is the cost: in a database every change is a commit,
        and a commit that must survive a power cut waits for the disk. A worker that reports
        and claims in one commit waits for the disk once per job instead of twice.
        """
        report = self._checked_report(status, last_error, claim, permanent)
        lease, actor, at = self._lease(lease_seconds), self._actor(actor), self._now()
        with self._changing() as place:
            job = self._read(place, job_id)
            reported = decide_report(job, report, actor, at, self.lease_seconds, self._backoff)
            self._save(place, reported, at, actor)
            claimed = None
            if reported.after is not None and (waiting := self._next_in_line(place)) is not None:
                claimed = decide_claim(waiting, actor, at, lease)
                self._save(place, claimed, at, actor)
        return reported.result(), None if claimed is None else claimed.after

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Move every failed job that may retry and is due (``retry_at`` passed) back to
        pending, in creation order, and return them. Each keeps its ``last_error``."""
        actor, now = self._actor(actor), self._now()
        with self._changing() as place:
            decisions = [decide_retry(job, now) for job in self._retry_candidates(place, now)]
            retried = [decision for decision in decisions if decision is not None]
            for decision in retried:
                self._save(place, decision, now, actor)
        return [decision.result() for decision in retried]

    # --- lost, stopped and late workers (notebook 09) --------------------------------------

    def renew_lease(
        self,
        job_id: str,
        claim: int,
        *,
        actor: str | None = None,
        lease_seconds: float | None = None,
    ) -> Job:
        """A heartbeat: the lease of ``claim``, which must still hold the job, runs
        ``lease_seconds`` from now."""
        self._fits(checked_claim(claim), "claim")
        lease, actor, at = self._lease(lease_seconds), self._actor(actor), self._now()
        with self._changing() as place:
            decision = decide_renewal(self._read(place, job_id), claim, at, lease)
            self._save(place, decision, at, actor)
        return decision.result()

    def release_job(self, job_id: str, claim: int, *, actor: str | None = None) -> Job:
        """The recovery move: the claim holder gives the job back to pending, and the attempt
        it had started is not counted. For a worker that stops before its handler finished."""
        self._fits(checked_claim(claim), "claim")
        actor, at = self._actor(actor), self._now()
        with self._changing() as place:
            decision = decide_release(self._read(place, job_id), claim, actor)
            self._save(place, decision, at, actor)
        return decision.result()

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        """Fail every processing job whose lease ran out, saying so in ``last_error`` and
        counting the attempt; return them in creation order. Nobody reported these jobs:
        their worker hung, died or lost touch, so they are retried like any other failure."""
        actor, now = self._actor(actor), self._now()
        with self._changing() as place:
            candidates = self._expiry_candidates(place, now)
            decisions = [decide_expiry(job, now, self._backoff) for job in candidates]
            expired = [decision for decision in decisions if decision is not None]
            for decision in expired:
                self._save(place, decision, now, actor)
        return [decision.result() for decision in expired]

    def requeue(self, job_id: str, *, actor: str | None = None) -> Job:
        """Give a dead job (failed for good) a fresh budget of attempts, back in pending.
        A deliberate operator action, after the cause of the failures was fixed; the job keeps
        its ``last_error`` and its claim numbers go on from where they were."""
        actor, at = self._actor(actor), self._now()
        with self._changing() as place:
            decision = decide_requeue(self._read(place, job_id), actor)
            self._save(place, decision, at, actor)
        return decision.result()

    def wait_for_work(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait up to ``timeout`` seconds, or until ``stop`` is set, for a job to become
        pending: what a worker with nothing to do calls before it asks again. True when it
        was told a job became pending; False when the time ran out (or ``stop`` was set).

        This store cannot tell when a job becomes pending, so it waits the whole time and the
        worker polls. ``PostgresJobStore`` is woken by the database as soon as one does.
        """
        (stop or threading.Event()).wait(timeout)
        return False

    # --- reading -------------------------------------------------------------------------

    @abstractmethod
    def get_job(self, job_id: str) -> Job:
        """The current snapshot of one job; ``JobNotFound`` if there is none."""

    @abstractmethod
    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """All jobs, or those in one status, in creation order."""

    @abstractmethod
    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, longest waiting first, at most ``limit``; costs what it
        returns, so a sweeper may ask often."""

    @abstractmethod
    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status, zeros included."""

    @abstractmethod
    def transitions(self, start: int = 0) -> list[Transition]:
        """The audit log from entry ``start`` on, oldest first."""

    @abstractmethod
    def all_settled(self) -> bool:
        """True when every job is completed or failed for good."""

    @abstractmethod
    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until ``all_settled()`` or until ``timeout`` seconds pass (``None`` or
        ``math.inf``: no limit); return which."""

    def get_pending_jobs(self) -> list[Job]:
        """Jobs waiting for a worker, in creation order."""
        return self.list_jobs(PENDING)

    def get_processing_jobs(self) -> list[Job]:
        """Jobs a worker holds right now, in creation order."""
        return self.list_jobs(PROCESSING)

    def get_failed_jobs(self) -> list[Job]:
        """Failed jobs in creation order, each with its ``last_error``."""
        return self.list_jobs(FAILED)

    def get_dead_jobs(self) -> list[Job]:
        """The dead-letter view: failed jobs that will never be retried, in creation order."""
        return [job for job in self.list_jobs(FAILED) if job.is_dead]

    def now(self) -> float:
        """The store's clock: the time that leases and ``retry_at`` are measured in."""
        return self._now()

    def __iter__(self) -> Iterator[Job]:
        return iter(self.list_jobs())

    # --- what each store provides: how it locks, reads and saves ---------------------------

    @abstractmethod
    def _changing(self) -> AbstractContextManager[Any]:
        """Hold the store for one change (a lock, or a transaction) and give the place the
        change happens in; everything inside is saved together, or not at all."""

    @abstractmethod
    def _read(self, place: Any, job_id: str) -> Job:
        """The job, held for this change; ``JobNotFound`` if there is none."""

    @abstractmethod
    def _next_in_line(self, place: Any) -> Job | None:
        """The pending job that has waited longest, held for this change (``None``: none)."""

    @abstractmethod
    def _retry_candidates(self, place: Any, now: float) -> list[Job]:
        """Failed jobs that may be due for a retry, held, in creation order (a store may give
        more: ``decide_retry`` has the last word)."""

    @abstractmethod
    def _expiry_candidates(self, place: Any, now: float) -> list[Job]:
        """Processing jobs whose lease may have run out, held, in creation order (a store may
        give more: ``decide_expiry`` has the last word)."""

    @abstractmethod
    def _new_job(self, type: str, payload: Mapping[str, Any], max_retries: int) -> Any:
        """What a new job needs before the change starts (its snapshot, or the row to insert),
        made outside the lock or transaction so that the change itself stays short."""

    @abstractmethod
    def _add(self, place: Any, new: Any) -> Job:
        """Store the job ``_new_job`` made, with a fresh, unique id, and return it."""

    @abstractmethod
    def _save(self, place: Any, decision: Decision, at: float, actor: str) -> None:
        """Save ``decision.after`` (when the change goes ahead) and record the decision in the
        audit log (when it is audited), as part of this change."""

    def _storable(self, text: str, name: str) -> str:
        """``text`` if this store can hold it, else a ``ValueError`` naming ``name``."""
        return text

    def _fits(self, number: int | None, name: str) -> int | None:
        """``number`` if this store can hold it, else a ``ValueError`` naming ``name``."""
        return number

    # --- the same for every store ----------------------------------------------------------

    def _now(self) -> float:
        return read_clock(self._clock)

    def _checked_report(
        self, status: JobStatus | str, last_error: str | None, claim: int | None, permanent: bool
    ) -> Report:
        """A worker's report, checked (``checked_report``) and known to fit this store."""
        report = checked_report(status, last_error, claim, permanent)
        self._fits(claim, "claim")
        if last_error is not None:
            self._storable(last_error, "last_error")
        return report

    def _lease(self, lease_seconds: float | None) -> float:
        return self.lease_seconds if lease_seconds is None else checked_lease(lease_seconds)

    def _actor(self, actor: str | None) -> str:
        return self._storable(check_actor(actor) or threading.current_thread().name, "actor")
