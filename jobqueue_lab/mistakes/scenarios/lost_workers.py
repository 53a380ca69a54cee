"""Scenarios for workers that go quiet: a lost worker without leases, a zombie without fencing.

Both are played with a ``ManualClock`` (a lease "runs out" when the scenario moves the clock) and
with real ``Worker``s whose handlers are held on events, so every run takes the same steps in
the same order, in a few milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from ...checks import RunLog, Violation, find_violations
from ...clock import ManualClock
from ...domain import Job
from ...failures import SimulatedFailure
from ...stores.memory import InMemoryJobStore
from ...sweeper import Sweeper
from ..no_fencing import UnfencedStore
from ..no_lease import NoLeaseStore
from .harness import (
    JobRow,
    Sides,
    broken_side,
    correct_side,
    real_worker,
    rows,
    scenario,
    wait_for,
)

LEASE = 30.0
SWEEP = 1.0  # how far past a lease the checker lets a job go: one sweep

Played = tuple[list[Violation], tuple[JobRow, ...], tuple[str, ...]]
"""One side played: the rules it broke, its jobs at the end, and what it reported."""


class HeldHandler:
    """A handler that says when it has started, then waits to be let go before it finishes."""

    def __init__(self, finish: Callable[[Job], None] = lambda job: None) -> None:
        self.started, self.go = threading.Event(), threading.Event()
        self._finish = finish

    def __call__(self, job: Job) -> None:
        self.started.set()
        self.go.wait()
        self._finish(job)


def run_on_thread(
    store: InMemoryJobStore, name: str, handler: Callable[[Job], object], job: Job
) -> threading.Thread:
    """A real worker named ``name`` processing ``job`` (already claimed) on a thread of its own."""
    worker = real_worker(name, store, handler)
    thread = threading.Thread(target=worker.process, args=(job,), name=name, daemon=True)
    thread.start()
    return thread


@dataclass
class QuietWorker:
    """How both scenarios open: a store on a manual clock, and ``worker-1`` holding its one job
    on a thread of its own, quiet until ``held.go`` is set."""

    clock: ManualClock
    store: InMemoryJobStore
    runs: RunLog
    job: Job
    held: HeldHandler
    thread: threading.Thread


def _worker_goes_quiet(
    store_class: type[InMemoryJobStore], job_type: str, payload: dict, timeout: float
) -> QuietWorker:
    clock = ManualClock()
    store = store_class(clock=clock, lease_seconds=LEASE)
    runs = RunLog()
    job = store.claim_job(store.create_job(job_type, payload, max_retries=2).id, actor="worker-1")
    held = HeldHandler()
    thread = run_on_thread(store, "worker-1", runs.watch(held), job)
    wait_for(held.started, timeout, "worker-1 to start the job")
    return QuietWorker(clock, store, runs, job, held, thread)


def _both_stores(
    play: Callable[[type[InMemoryJobStore], float], Played],
    broken_store: type[InMemoryJobStore],
    damage: str,
    timeout: float,
) -> Sides:
    """The same story played on the broken store and on the real one, side by side."""
    broken, broken_jobs, broken_lines = play(broken_store, timeout)
    correct, correct_jobs, correct_lines = play(InMemoryJobStore, timeout)
    return Sides(
        broken_side(
            broken_store.__name__, broken, damage, jobs=broken_jobs, output=broken_lines
        ),
        correct_side("InMemoryJobStore", correct, jobs=correct_jobs, output=correct_lines),
    )


# --- no lease --------------------------------------------------------------------------------


@scenario("no lease", "lost workers: a claim without a lease")
def scenario_no_lease(timeout: float) -> Sides:
    """A worker claims a job and is lost; the lease runs out; the sweeper sweeps; a healthy
    worker is waiting. With leases the job is recovered and done; without, it stays stuck."""
    damage = "the lost worker's job stayed processing long past its lease, and never settled"
    return _both_stores(_lose_a_worker, NoLeaseStore, damage, timeout)


def _lose_a_worker(store_class: type[InMemoryJobStore], timeout: float) -> Played:
    lost = _worker_goes_quiet(store_class, "report", {"month": "2024-05"}, timeout)
    clock, store, runs = lost.clock, lost.store, lost.runs
    lines = [f"worker-1 claimed {lost.job.id} and went quiet (lease {LEASE:g} s)"]
    clock.advance(LEASE + 2 * SWEEP)
    recovered = Sweeper(store, lambda job_id: True).sweep_once().recovered
    lines.append(
        f"{LEASE + 2 * SWEEP:g} s later a sweep recovered {', '.join(recovered) or 'nothing'}"
    )
    retry = store.claim_next(actor="worker-2")
    if retry is None:
        lines.append("worker-2 found nothing to claim: the job is still held")
    else:
        real_worker("worker-2", store, runs.watch(lambda job: None)).process(retry)
        lines.append(f"worker-2 claimed it (claim {retry.claim}) and completed it")
    # Judged while worker-1 is still lost: what a real queue would look like from now on.
    jobs = store.list_jobs()
    found = find_violations(
        jobs, store.transitions(), handler_runs=runs.runs, now=clock(), grace=SWEEP
    )
    lost.held.go.set()  # let the thread end; a lost worker in a real queue never would
    lost.thread.join(timeout)
    return found, rows(jobs), tuple(lines)


# --- no fencing ------------------------------------------------------------------------------


@scenario("no fencing", "lost workers: a late report from a stale claim is accepted")
def scenario_no_fencing(timeout: float) -> Sides:
    """A worker claims a payment and stalls; its lease runs out and the job is retried; the retry
    finds the card declined. Then the stalled worker wakes up and reports "completed"."""
    damage = "the zombie's late 'completed' replaced the retry's real outcome"
    return _both_stores(_zombie_reports_late, UnfencedStore, damage, timeout)


def _declined(job: Job) -> None:
    raise SimulatedFailure("card declined")


def _zombie_reports_late(store_class: type[InMemoryJobStore], timeout: float) -> Played:
    zombie = _worker_goes_quiet(store_class, "charge", {"card": "4242", "amount": 30}, timeout)
    clock, store, runs, job = zombie.clock, zombie.store, zombie.runs, zombie.job
    retry = HeldHandler(finish=_declined)
    clock.advance(LEASE + SWEEP)
    Sweeper(store, lambda job_id: True).sweep_once()
    second = store.claim_next(actor="worker-2")
    current = run_on_thread(store, "worker-2", runs.watch(retry), second)
    wait_for(retry.started, timeout, "worker-2 to start the retry")
    zombie.held.go.set()
    zombie.thread.join(timeout)
    after_zombie = store.get_job(job.id).status.value
    retry.go.set()
    current.join(timeout)
    final = store.get_job(job.id)
    lines = (
        f"claim 1 (worker-1) stalled; its lease ran out, claim {second.claim} (worker-2) took over",
        f"worker-1 woke up and reported completed: the job is now {after_zombie}",
        f"worker-2 reported failed (card declined): the job ends {final.status.value}",
    )
    jobs = store.list_jobs()
    found = find_violations(jobs, store.transitions(), handler_runs=runs.runs)
    return found, rows(jobs), lines
