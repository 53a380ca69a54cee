"""Losing a worker on purpose: one attempt of one job whose worker goes quiet, and the story of
that job told from the audit log alone.

The dashboard's "Lose a worker" runs a pool with ``LosesItsWorker`` around its handler and then
shows ``lost_worker_story``: the lease runs out, the sweeper recovers the job, another worker
runs it, and the lost worker's late report is fenced off (notebook 09 explains each step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .audit import Transition
from .domain import Job, JobStatus
from .failures import WorkInterrupted
from .pool import WorkerPool
from .stores.contract import JobStore
from .stores.memory import InMemoryJobStore
from .worker import Handler, stop_requested

LOST_JOB = "job-001"
"""The job whose first attempt loses its worker when "Lose a worker" is ticked."""

LOST_LEASE_SECONDS = 1.0
"""The lease of a run with a lost worker: short, so its recovery happens while you watch."""


@dataclass(frozen=True)
class LosesItsWorker:
    """A handler whose worker is lost on the first attempt of one job, then comes back late.

    That attempt sends no heartbeat and reports nothing, so its lease runs out and the sweeper
    recovers the job for another worker. The lost worker comes back once the job has moved on
    (another claim holds it, or it is settled) and reports "completed", which the store
    refuses. A real lost worker comes back whenever it likes, or never; waiting for that
    moment makes every run show the refusal. If the pool stops first, the attempt ends the
    way any attempt cut short by a stop does. Every other attempt runs ``handler``.
    """

    handler: Handler
    store: JobStore
    job_id: str = LOST_JOB
    poll_seconds: float = 0.02

    def __call__(self, job: Job) -> object:
        if job.id != self.job_id or job.claim != 1:
            return self.handler(job)
        stop = stop_requested()
        while not self._moved_on(job):
            if stop.wait(self.poll_seconds) and not self._moved_on(job):
                raise WorkInterrupted("stopped before the lost worker came back")
        return None

    def _moved_on(self, job: Job) -> bool:
        now = self.store.get_job(job.id)
        return now.claim != job.claim or now.is_settled


def pool_with_a_lost_worker(
    handler: Handler, workers: int, sweeper_interval: float, queue_capacity: int
) -> WorkerPool:
    """A correct pool with a short lease, whose workers lose one attempt of ``LOST_JOB``."""
    store = InMemoryJobStore(lease_seconds=LOST_LEASE_SECONDS)
    return WorkerPool(
        store,
        workers=workers,
        handler=LosesItsWorker(handler, store),
        sweeper_interval=sweeper_interval,
        queue_capacity=queue_capacity,
    )


def lost_worker_story(store: InMemoryJobStore, job_id: str = LOST_JOB) -> str:
    """What happened to the job whose worker was lost, told from the store's audit log alone:
    who lost it, the recovery, the attempt that replaced it, and the late report's refusal."""
    log = [t for t in store.transitions() if t.job_id == job_id and t.from_status is not None]
    claims = {t.claim: t for t in log if t.accepted and t.to_status is JobStatus.PROCESSING}
    first = claims.get(1)
    if first is None:
        return f"{job_id} was never claimed in this run, so no worker was lost."
    lines = [f"{first.actor} took {job_id} (claim 1) and went quiet: no heartbeat, no report."]
    for t in log:
        if not t.accepted and t.claim == 1:
            lines.append(f"{first.actor} came back late; the store refused it: {t.detail}.")
        elif t.accepted and t.from_status is JobStatus.PROCESSING:
            lines.append(_ending(t, claims))
        elif t.accepted and t.to_status is JobStatus.PROCESSING and t.claim != 1:
            lines.append(f"{t.actor} ran it again under claim {t.claim}.")
    return "\n".join(lines)


def _ending(t: Transition, claims: Mapping[int | None, Transition]) -> str:
    """One line for the change that ended an attempt of the lost worker's job."""
    if t.to_status is JobStatus.PENDING:
        return (
            f"The run stopped: {t.actor} gave the job back under claim {t.claim} (a release),"
            " and that attempt was not counted."
        )
    if t.claim == 1 and t.actor != claims[1].actor:
        return f"Its lease ran out, and {_the(t.actor)} failed the job: {t.detail}."
    outcome = t.to_status.value + (f" ({t.detail})" if t.detail else "")
    return f"Claim {t.claim} ended {outcome}."


def _the(actor: str) -> str:
    return "the sweeper" if actor == "sweeper" else actor
