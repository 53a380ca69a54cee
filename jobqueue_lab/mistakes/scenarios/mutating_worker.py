"""Scenario for mistake 1, the worker mutates job state: three short acts, one job each.

- act (a), job-001: one id is handed to two workers at the same moment;
- act (b), job-002: worker-2 checks the job, is held, and goes on after worker-1 has finished it;
- act (c), job-003: a reader looks at the job as soon as it shows "failed".

Both sides play the same acts with the same steps. The broken side is ``MutatingWorker`` on a
``LiveRecordStore``; the correct side is the real ``Worker`` on ``InMemoryJobStore``. A side
offers an act three things: ``deliver`` a job to a worker, ``read`` a job, and ``look`` at a
job for the outside witness, whose notes stand in for the audit log the broken store lacks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

from ...audit import Transition
from ...checks import RunLog, Violation, Witness, find_violations
from ...domain import Job
from ...failures import SimulatedFailure
from ...stores.memory import InMemoryJobStore
from ...worker import Handler
from ..hooks import Hook, carry_on, meeting_point
from ..mutating_worker import LiveRecordStore, MutatingWorker
from .harness import (
    EMAILS_FAIL,
    WORKERS,
    Sides,
    broken_side,
    correct_side,
    read_until_failed,
    real_worker,
    rows,
    run_threads,
    scenario,
    wait_for,
)


@dataclass(frozen=True)
class Holds:
    """Where an act holds a worker: at its race window (after its check, before its change),
    and between the two writes of a failure."""

    race_window: Hook = carry_on
    between_writes: Hook = carry_on


class _Side:
    """What both sides share: a witness, and a way to show it a job."""

    variant: str

    def __init__(self, store: Any) -> None:
        self.store = store
        self.witness = Witness()

    def read(self, job_id: str) -> Job:
        raise NotImplementedError

    def look(self, job_id: str) -> None:
        """Show the witness the job as it is now."""
        self.witness.saw(self.read(job_id))


class BrokenSide(_Side):
    """Mistake 1's broken side: a ``LiveRecordStore`` whose records ``MutatingWorker``s change."""

    variant = "MutatingWorker on LiveRecordStore"
    store: LiveRecordStore

    def read(self, job_id: str) -> Job:
        return self.store.get_job(job_id).snapshot()

    def deliver(self, name: str, job_id: str, handler: Handler, holds: Holds = Holds()) -> bool:
        """Worker ``name`` gets ``job_id``, and is held where ``holds`` says."""
        worker = MutatingWorker(
            name,
            self.store,
            handler,
            race_window=holds.race_window,
            between_writes=holds.between_writes,
        )
        return worker.process(self.store.get_job(job_id))

    def transitions(self) -> list[Transition]:
        return self.witness.transitions()


class CorrectSide(_Side):
    """Mistake 1's correct side: an ``InMemoryJobStore`` and real ``Worker``s that signal it."""

    variant = "Worker on InMemoryJobStore"
    store: InMemoryJobStore

    def read(self, job_id: str) -> Job:
        return self.store.get_job(job_id)

    def deliver(self, name: str, job_id: str, handler: Handler, holds: Holds = Holds()) -> bool:
        """Worker ``name`` gets ``job_id``. ``claim_job`` has no inside to hold a worker in, so
        it is held just before it; there is no moment between two writes to hold it in."""
        holds.race_window(self.read(job_id))
        job = self.store.claim_job(job_id)
        if job is None:
            return False
        real_worker(name, self.store, handler).process(job)
        return True

    def transitions(self) -> list[Transition]:
        return self.store.transitions()


AnySide = BrokenSide | CorrectSide


@scenario("worker mutates state", "mistake 1: worker directly mutates state")
def scenario_worker_mutates_state(timeout: float) -> Sides:
    """Mistake 1, three ways, each job in its own act, on both sides."""
    broken, correct = BrokenSide(LiveRecordStore()), CorrectSide(InMemoryJobStore())
    return Sides(
        broken_side(
            broken.variant,
            _play_three_acts(broken, timeout),
            "two workers ran one job at once; a finished job was taken again; "
            "a reader saw a failure with no reason",
            jobs=rows(broken.store.list_jobs()),
        ),
        correct_side(
            correct.variant,
            _play_three_acts(correct, timeout),
            jobs=rows(correct.store.list_jobs()),
        ),
    )


def _play_three_acts(side: AnySide, timeout: float) -> list[Violation]:
    """Create the three jobs, play the acts, and judge what the witness and handlers saw."""
    report = side.store.create_job("report", {"month": "2024-05"}).id
    first_email = side.store.create_job("email", {"to": "ada@example.org"}).id
    second_email = side.store.create_job("email", {"to": "grace@example.org"}).id
    for job_id in (report, first_email, second_email):
        side.witness.saw(side.read(job_id), "scenario")
    log = RunLog(side.witness)
    SameIdAtOnce(side, report, log, timeout).play()
    ActingOnAnOldCheck(side, first_email, log, timeout).play()
    half_seen = LookingAtAFailure(side, second_email, log, timeout).play()
    found = find_violations(
        side.store.list_jobs(), side.transitions(), handler_runs=log.runs, expect_settled=False
    )
    return found + half_seen


class SameIdAtOnce:
    """Act (a): both workers get the id at once.

    The broken workers are held after their check until both have checked. Every run of the
    handler is a turn that waits until both workers have had theirs, so two runs of the job,
    if there are two, overlap; a worker that was refused takes its turn without running.
    """

    def __init__(self, side: AnySide, job_id: str, log: RunLog, timeout: float) -> None:
        self.side, self.job_id, self.timeout = side, job_id, timeout
        self.both_checked = meeting_point(timeout)
        self.take_turn = meeting_point(timeout)
        self.handler = log.watch(self.take_turn)

    def play(self) -> None:
        run_threads({name: partial(self.worker, name) for name in WORKERS}, self.timeout)

    def worker(self, name: str) -> None:
        if not self.side.deliver(name, self.job_id, self.handler, Holds(self.both_checked)):
            self.take_turn(None)
        self.side.look(self.job_id)


class ActingOnAnOldCheck:
    """Act (b): worker-2 is handed the id first but held; worker-1 then sends the email, start
    to finish; then worker-2 goes on. Sending the same email twice fails as a duplicate."""

    def __init__(self, side: AnySide, job_id: str, log: RunLog, timeout: float) -> None:
        self.side, self.job_id, self.timeout = side, job_id, timeout
        self.handler = log.watch(SendOnce())
        self.worker_2_held = threading.Event()
        self.worker_1_done = threading.Event()

    def play(self) -> None:
        run_threads({"worker-2": self.worker_2, "worker-1": self.worker_1}, self.timeout)

    def worker_2(self) -> None:
        self.side.deliver("worker-2", self.job_id, self.handler, Holds(self.hold_worker_2))
        self.side.look(self.job_id)

    def hold_worker_2(self, job: object) -> None:
        self.worker_2_held.set()
        wait_for(self.worker_1_done, self.timeout, "worker-1 to finish")

    def worker_1(self) -> None:
        try:
            wait_for(self.worker_2_held, self.timeout, "worker-2 to be held")
            self.side.deliver("worker-1", self.job_id, self.handler)
            self.side.look(self.job_id)
        finally:
            self.worker_1_done.set()


class LookingAtAFailure:
    """Act (c): the job fails; a reader waits until it shows "failed" and reads it then. The
    broken worker is held between its two assignments until the reader has looked."""

    def __init__(self, side: AnySide, job_id: str, log: RunLog, timeout: float) -> None:
        self.side, self.job_id, self.timeout = side, job_id, timeout
        self.handler = log.watch(EMAILS_FAIL)
        self.looked = threading.Event()
        self.seen: list[Job] = []

    def play(self) -> list[Violation]:
        """Play the act; what the reader saw, as evidence."""
        run_threads({"worker-1": self.worker_1, "reader": self.reader}, self.timeout)
        return [
            Violation(v.invariant, v.job_id, f"a reader saw it half-written: {v.detail}")
            for v in find_violations(self.seen, expect_settled=False)
        ]

    def worker_1(self) -> None:
        holds = Holds(between_writes=self.hold_until_looked)
        self.side.deliver("worker-1", self.job_id, self.handler, holds)
        self.side.look(self.job_id)

    def hold_until_looked(self, job: object) -> None:
        wait_for(self.looked, self.timeout, "the reader to look")

    def reader(self) -> None:
        try:
            self.seen.append(read_until_failed(partial(self.side.read, self.job_id), self.timeout))
        finally:
            self.looked.set()


class SendOnce:
    """A handler for an email that must go out once: sending the same job again fails."""

    def __init__(self) -> None:
        self._sent: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, job: Job) -> None:
        with self._lock:
            if job.id in self._sent:
                raise SimulatedFailure(f"duplicate: {job.id} was already sent")
            self._sent.add(job.id)
