"""Checks for notebook 09, leases and fencing: keeping the lease of a long job alive."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import InMemoryJobStore, Job, JobStatus, ManualClock, Worker, WorkQueue
from .feedback import Problems

LEASE_SECONDS = 30.0
STEP_SECONDS = 20.0
STEPS = 3
"""The long job of the first exercise: three steps of 20 s each, under a lease of 30 s."""

STORE_REFUSALS = ("StaleClaim", "JobNotFound", "InvalidTransition")
OTHER_STORE_HINT = (
    "The check runs your export in a store of its own, where the worker's claim is still "
    "current; a store of your notebook (such as `store`) is another store, with other jobs "
    "under the same ids. Keep the lease alive in the store this worker is running the job "
    "for, without naming a store"
)

RUN_SECONDS = 10
"""How long, in real seconds, the check waits for the learner's handler before giving up."""


def check_long_export(long_export: Callable[[Job, Callable[[Job], None]], Any]) -> Problems:
    """``long_export(job, step)`` does a long job as ``STEPS`` calls of ``step(job)``.

    Each step takes 20 s on the store's clock, and the lease is 30 s, so the whole job outlives
    its lease unless the worker keeps it alive. The check runs the handler inside a real
    ``Worker`` (so that ``heartbeat()`` reaches the claim), on a store with a ``ManualClock``;
    after each step it asks the store to recover expired leases, as a sweeper would while the
    worker works. Wanted: every step done, no recovery, and the job completed by its one attempt.
    """
    if not callable(long_export):
        return [f"long_export is not a function (it is a {type(long_export).__name__})"]
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=LEASE_SECONDS)
    run = _ExportRun(store, clock)
    job = store.claim_job(store.create_job("export").id, actor="worker-1")
    handler = lambda job: long_export(job, run.step)  # noqa: E731
    worker = Worker("worker-1", store, WorkQueue(), handler, threading.Event())
    thread = threading.Thread(target=worker.process, args=(job,), name="worker-1", daemon=True)
    thread.start()
    thread.join(RUN_SECONDS)
    if thread.is_alive():
        return [
            f"long_export(job, step) had not returned after {RUN_SECONDS} seconds, so the "
            "check stopped waiting: the run timed out. Does it wait for something that never "
            "comes, or loop for ever? (On a very busy machine, run the check again.)"
        ]
    return run.problems(store.get_job(job.id))


@dataclass
class _ExportRun:
    """The check's side of the long job: the steps it saw, and the recovery, if there was one."""

    store: InMemoryJobStore
    clock: ManualClock
    steps: int = 0
    lost: tuple[int, float, float] | None = None  # step, clock time, last renewal

    def step(self, job: Job) -> None:
        """One step of the work: 20 s pass on the store's clock, then the sweeper looks."""
        self.steps += 1
        now = self.clock.advance(STEP_SECONDS)
        held = self.store.get_job(job.id)
        if self.store.recover_expired_leases(actor="sweeper") and self.lost is None:
            self.lost = (self.steps, now, held.lease_expires_at - LEASE_SECONDS)

    def problems(self, job: Job) -> Problems:
        if self.lost is not None:
            step, now, renewed = self.lost
            heard = (
                "the lease still dated from the claim, at 0 s"
                if renewed == 0
                else f"the lease was last renewed at {renewed:g} s"
            )
            return [
                f"the lease ran out during step {step} (the sweeper looked at {now:g} s on the "
                f"store's clock; {heard}), so the store took the worker for lost, failed the "
                "attempt and refused the worker's late report. A worker that is busy for longer "
                "than its lease has to tell the store, now and again, that it is still at work."
            ]
        if job.status is JobStatus.FAILED:
            problem = f"long_export(job, step) raised {job.last_error}"
            if (job.last_error or "").startswith(STORE_REFUSALS):
                problem += f". {OTHER_STORE_HINT}"
            return [problem]
        if self.steps != STEPS:
            return [
                f"long_export called step(job) {self.steps} time(s); the export has {STEPS} "
                "steps, and every one of them must be done"
            ]
        return []
