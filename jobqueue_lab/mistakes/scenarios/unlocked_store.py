"""Scenario for atomic updates, no lock: two workers claim each of three jobs at the same moment."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from ...checks import RunLog
from ...domain import COMPLETED
from ...errors import InvalidTransition
from ...stores.memory import InMemoryJobStore
from ..hooks import Hook, carry_on, meeting_point
from ..unlocked_store import UnlockedStore
from .harness import (
    WORKERS,
    Sides,
    broken_store_side,
    create,
    real_store_side,
    run_threads,
    scenario,
)


@scenario("no lock", "atomic updates: read-modify-write with no lock")
def scenario_no_lock(timeout: float) -> Sides:
    """Atomic updates: two workers claim each of three jobs at the same moment, on a store
    without a lock and on the real store."""
    unlocked = UnlockedStore(race_window=meeting_point(timeout))
    real = InMemoryJobStore()
    unlocked_log = _claim_each_job_at_once(unlocked, before_claim=carry_on, timeout=timeout)
    real_log = _claim_each_job_at_once(real, before_claim=meeting_point(timeout), timeout=timeout)
    return Sides(
        broken_store_side(
            "UnlockedStore",
            unlocked,
            "both workers claimed each job, and one attempt was lost",
            handler_runs=unlocked_log.runs,
        ),
        real_store_side("InMemoryJobStore", real, handler_runs=real_log.runs),
    )


def _claim_each_job_at_once(store: Any, *, before_claim: Hook, timeout: float) -> RunLog:
    """Three jobs, each handed to both workers at once; what the handlers saw."""
    log = RunLog()
    for job_id in create(store, [("report", {"n": n}) for n in range(1, 4)], max_retries=3):
        TwoClaims(store, job_id, log, before_claim, timeout).play()
    return log


class TwoClaims:
    """Both workers claim one job at the same moment, and run it if the claim is granted.

    The unlocked store holds them at its race window, inside ``claim_job``; the real store's
    claim has no inside to hold anyone in, so ``before_claim`` holds them just before it. As
    in mistake 1, every run of the handler is a turn that waits until both workers have had
    theirs, and a worker that was refused takes its turn without running.
    """

    def __init__(
        self, store: Any, job_id: str, log: RunLog, before_claim: Hook, timeout: float
    ) -> None:
        self.store, self.job_id, self.timeout = store, job_id, timeout
        self.before_claim = before_claim
        self.take_turn = meeting_point(timeout)
        self.handler = log.watch(self.take_turn)

    def play(self) -> None:
        run_threads(dict.fromkeys(WORKERS, self.worker), self.timeout)

    def worker(self) -> None:
        self.before_claim(None)
        job = self.store.claim_job(self.job_id)
        if job is None:
            self.take_turn(None)
            return
        self.handler(job)
        with suppress(InvalidTransition):  # the other worker may have finished it first
            self.store.update_status(self.job_id, COMPLETED)
