"""Leases, heartbeats and fencing (issue 11, notebook 09): every rule, one test at a time, on
every kind of store (a test that takes ``new_store`` runs once per store).

The store runs on a ``ManualClock``, so a lease runs out exactly when a test says so and never
because the machine was slow. ``Worker.process`` runs a handler on the test's own thread, which
makes heartbeats and late reports deterministic without a pool. Every refusal is checked to
leave the store as it was, apart from the one audit entry that says why.
"""

import logging
import os
import subprocess
import sys
import threading
import time

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    InvalidTransition,
    Job,
    JobNotFound,
    JobStatus,
    ManualClock,
    PermanentFailure,
    StaleClaim,
    Worker,
    WorkerPool,
    WorkInterrupted,
    WorkQueue,
    constant,
    exponential,
    heartbeat,
    heartbeat_interval,
    no_delay,
    simulated_work,
    stop_requested,
)
from jobqueue_lab import pool as pool_module
from jobqueue_lab.backoff import MAX_DELAY
from jobqueue_lab.checks import STALE_RESULT, RunLog, find_violations
from tests.support import wait_for

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
START = 1000.0
LEASE = 30.0


@pytest.fixture
def new_store(make_store):
    """Fresh stores of one kind on a ``ManualClock`` (``store, clock = new_store()``): with
    ``make_store`` (see ``conftest.py``), each test that takes it runs against every store."""

    def new(**options):
        clock = ManualClock(START)
        return make_store(clock=clock, **options), clock

    return new


def claimed(store, actor="worker-1", max_retries=3, **lease):
    job = store.create_job("t", max_retries=max_retries)
    return store.claim_job(job.id, actor=actor, **lease)


def lose(store, clock, job):
    """Let ``job``'s lease run out and have the sweeper recover it."""
    clock.advance(job.lease_expires_at - clock())
    recovered = store.recover_expired_leases(actor="sweeper")
    assert job.id in [j.id for j in recovered]
    return store.get_job(job.id)


def reclaim(store, clock, job, actor="worker-2"):
    """Lose ``job``'s current claim and give the job to a new one."""
    lose(store, clock, job)
    assert [j.id for j in store.retry_failed_jobs(actor="sweeper")] == [job.id]
    return store.claim_job(job.id, actor=actor)


def state(store):
    """Everything a refusal must leave as it was, apart from the audit log."""
    return store.list_jobs(), store.counts(), store.pending_ids(), store.get_dead_jobs()


def refused(store, action, error):
    """Run ``action``, which the store must refuse with ``error``; check that the refusal
    changed nothing but one new audit entry, and return the exception and that entry."""
    before, log = state(store), store.transitions()
    with pytest.raises(error) as caught:
        action()
    after = store.transitions()
    assert state(store) == before
    assert after[: len(log)] == log and len(after) == len(log) + 1
    assert after[-1].accepted is False
    return caught.value, after[-1]


def untouched(store, action, error, match=None):
    """A bad argument is refused before anything happens: not even an audit entry."""
    before, log = state(store), store.transitions()
    with pytest.raises(error, match=match):
        action()
    assert (state(store), store.transitions()) == (before, log)


def worker_here(store, handler, lease_seconds=None, stop=None):
    """A worker whose ``process`` we call on this thread: no pool, no timing."""
    return Worker(
        "worker-1",
        store,
        WorkQueue(),
        handler,
        stop or threading.Event(),
        lease_seconds=lease_seconds,
    )


# --- a claim is a lease, numbered --------------------------------------------------------


def test_a_claim_grants_a_lease_and_the_next_claim_number(new_store):
    store, clock = new_store(lease_seconds=LEASE)
    job = store.create_job("t")
    assert (job.claim, job.claimed_by, job.lease_expires_at) == (0, None, None)
    clock.advance(5)
    got = store.claim_job(job.id, actor="worker-3")
    assert (got.status, got.attempts, got.claim) == (PROCESSING, 1, 1)
    assert (got.claimed_by, got.lease_expires_at) == ("worker-3", START + 5 + LEASE)
    assert store.get_job(job.id) == got
    entry = store.transitions()[-1]
    assert (entry.to_status, entry.claim, entry.actor) == (PROCESSING, 1, "worker-3")


def test_a_claim_may_ask_for_its_own_lease_length(new_store):
    store, _ = new_store(lease_seconds=LEASE)
    assert claimed(store, lease_seconds=5).lease_expires_at == START + 5
    assert store.claim_next(actor="w", lease_seconds=7) is None
    store.create_job("t")
    assert store.claim_next(actor="w", lease_seconds=7).lease_expires_at == START + 7


def test_the_seeds_claim_through_update_status_is_a_lease_too(new_store):
    store, clock = new_store(lease_seconds=LEASE)
    job = store.create_job("t")
    clock.advance(1)
    got = store.update_status(job.id, PROCESSING, actor="worker-5")
    assert (got.attempts, got.claim, got.claimed_by) == (1, 1, "worker-5")
    assert got.lease_expires_at == START + 1 + LEASE


def test_the_repr_shows_the_claim_but_no_times(new_store):
    store, _ = new_store()
    text = repr(claimed(store))
    assert "claim=1" in text
    assert "lease" not in text and str(START) not in text


def test_a_lease_ends_when_the_job_leaves_processing_and_the_claimer_stays_named(new_store):
    store, _ = new_store()
    done = claimed(store, actor="worker-1")
    done = store.update_status(done.id, COMPLETED, claim=done.claim)
    failed = claimed(store, actor="worker-2")
    failed = store.update_status(failed.id, FAILED, "boom", claim=failed.claim)
    for job, worker in ((done, "worker-1"), (failed, "worker-2")):
        assert (job.claim, job.claimed_by, job.lease_expires_at) == (1, worker, None)


def test_claim_numbers_never_repeat_across_retries_releases_and_requeues(new_store):
    store, clock = new_store()
    job = store.create_job("t", max_retries=2)
    seen = []

    def claim():
        got = store.claim_job(job.id, actor="worker-1")
        seen.append((got.claim, got.attempts))
        return got

    got = claim()
    store.update_status(job.id, FAILED, "boom", claim=got.claim)
    store.retry_failed_jobs()
    got = claim()
    store.release_job(job.id, got.claim)  # the attempt is refunded, the number is not
    got = claim()
    lose(store, clock, got)  # the last attempt ran out: the job is dead
    store.requeue(job.id)
    got = claim()
    store.update_status(job.id, COMPLETED, claim=got.claim)
    assert seen == [(1, 1), (2, 2), (3, 2), (4, 1)]
    claims = [t.claim for t in store.transitions() if t.accepted and t.to_status is PROCESSING]
    assert claims == [1, 2, 3, 4]
    assert store.get_job(job.id).claim == 4


def test_a_refused_claim_grants_nothing(new_store):
    store, clock = new_store()
    job = claimed(store)
    clock.advance(1)
    before, log = state(store), store.transitions()
    assert store.claim_job(job.id, actor="worker-2") is None
    assert state(store) == before and store.get_job(job.id) == job
    entry = store.transitions()[len(log) :]
    assert [(e.accepted, e.actor, e.detail) for e in entry] == [
        (False, "worker-2", "job is processing, not pending")
    ]


def test_claim_next_takes_the_job_waiting_longest(new_store):
    store, _ = new_store()
    a, b, c = (store.create_job("t", max_retries=2) for _ in range(3))
    store.claim_job(a.id)
    store.update_status(a.id, FAILED, "boom", claim=1)
    store.retry_failed_jobs()  # a waits again, now behind b and c
    assert store.pending_ids() == [b.id, c.id, a.id]
    order = [store.claim_next(actor="w").id for _ in range(3)]
    assert order == [b.id, c.id, a.id]
    log = store.transitions()
    assert store.claim_next(actor="w") is None
    assert store.transitions() == log, "nothing to claim is not a refusal"


# --- heartbeats ----------------------------------------------------------------------------


def test_a_heartbeat_extends_the_lease_from_now_and_writes_no_audit_entry(new_store):
    store, clock = new_store(lease_seconds=LEASE)
    job = claimed(store)
    log = store.transitions()
    clock.advance(20)
    renewed = store.renew_lease(job.id, job.claim)
    assert renewed.lease_expires_at == START + 20 + LEASE
    assert renewed == Job(**{**_fields(job), "lease_expires_at": START + 20 + LEASE})
    assert store.renew_lease(job.id, job.claim, lease_seconds=5).lease_expires_at == START + 25
    assert store.transitions() == log
    clock.advance(4.5)
    assert store.recover_expired_leases() == [], "the renewed lease is still alive"
    clock.advance(0.5)
    assert [j.id for j in store.recover_expired_leases()] == [job.id]


def _fields(job):
    return {name: getattr(job, name) for name in Job.__slots__}


def test_a_heartbeat_from_a_claim_that_lost_the_job_is_refused_and_audited(new_store):
    store, clock = new_store()
    job = claimed(store, actor="worker-1")
    lost = lose(store, clock, job)
    error, entry = refused(
        store, lambda: store.renew_lease(job.id, 1, actor="worker-1"), StaleClaim
    )
    assert (error.job_id, error.stale_claim, error.current_claim) == (job.id, 1, 1)
    assert (
        entry.detail
        == "claim 1 asked to renew its lease after losing the job; the job is failed now"
    )
    assert (entry.from_status, entry.to_status, entry.claim) == (FAILED, PROCESSING, 1)
    assert store.get_job(job.id) == lost

    store.retry_failed_jobs()
    current = store.claim_job(job.id, actor="worker-2")
    error, entry = refused(
        store, lambda: store.renew_lease(job.id, 1, actor="worker-1"), StaleClaim
    )
    assert (error.stale_claim, error.current_claim, error.from_status) == (1, 2, PROCESSING)
    assert isinstance(error, InvalidTransition)
    assert (
        entry.detail
        == "claim 1 asked to renew its lease after losing the job; claim 2 holds the job"
    )
    assert (entry.actor, entry.accepted) == ("worker-1", False)
    assert store.get_job(job.id).lease_expires_at == current.lease_expires_at, "claim 2 not renewed"


@pytest.mark.parametrize("claim", [1, 2])
def test_a_heartbeat_for_a_job_nobody_holds_is_refused(new_store, claim):
    store, _ = new_store()
    job = store.create_job("t")
    error, entry = refused(store, lambda: store.renew_lease(job.id, claim), StaleClaim)
    assert (error.stale_claim, error.current_claim) == (claim, 0)
    assert entry.detail.endswith("the job is pending now")


@pytest.mark.parametrize(
    ("claim", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        ("1", TypeError),
        (True, TypeError),
        (1.0, TypeError),
        (None, TypeError),
    ],
)
def test_a_bad_claim_argument_is_refused_before_anything_happens(new_store, claim, error):
    store, _ = new_store()
    job = claimed(store)
    untouched(store, lambda: store.renew_lease(job.id, claim), error, match="claim")
    untouched(store, lambda: store.release_job(job.id, claim), error, match="claim")
    if claim is not None:
        untouched(store, lambda: store.update_status(job.id, COMPLETED, claim=claim), error)


def test_renewing_an_unknown_job_is_job_not_found(new_store):
    store, _ = new_store()
    untouched(store, lambda: store.renew_lease("job-999", 1), JobNotFound)
    untouched(store, lambda: store.release_job("job-999", 1), JobNotFound)


def test_heartbeat_inside_a_worker_keeps_a_long_job_alive(new_store):
    store, clock = new_store()
    seen = []

    def long_job(job):
        for _ in range(3):
            clock.advance(8)  # 24 s of work on a 10 s lease, a beat every 8 s
            seen.append((heartbeat(), heartbeat_interval()))
            assert store.recover_expired_leases(actor="sweeper") == []

    job = claimed(store, lease_seconds=10)
    worker_here(store, long_job, lease_seconds=10).process(job)
    assert seen == [(True, 10 / 3)] * 3
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim) == (COMPLETED, 1, 1)
    assert [t for t in store.transitions() if not t.accepted] == []


def test_heartbeat_interval_follows_the_stores_lease_when_the_worker_has_none(new_store):
    store, _ = new_store(lease_seconds=12)
    seen = []
    job = claimed(store)
    worker_here(store, lambda job: seen.append(heartbeat_interval())).process(job)
    assert seen == [4.0]


def test_heartbeat_outside_a_worker_does_nothing():
    assert heartbeat() is True
    assert heartbeat_interval() is None


def test_a_lost_worker_learns_from_its_heartbeat_and_its_late_report_is_fenced(new_store):
    store, clock = new_store()
    beats = []

    def lost(job):
        clock.advance(10)  # no heartbeat for a whole lease
        reclaim(store, clock, store.get_job(job.id), actor="worker-2")
        beats.append(heartbeat())

    job = claimed(store, lease_seconds=10)
    worker_here(store, lost, lease_seconds=10).process(job)
    assert beats == [False]
    final = store.get_job(job.id)
    assert (final.status, final.claim, final.claimed_by) == (PROCESSING, 2, "worker-2")
    late = store.transitions()[-1]
    here = threading.current_thread().name  # the worker reports as the thread it runs on
    assert (late.accepted, late.claim, late.actor, late.to_status) == (False, 1, here, COMPLETED)
    assert late.detail == "claim 1 reported completed after losing the job; claim 2 holds the job"


class BeatCountingStore(InMemoryJobStore):
    """Counts heartbeats; before the ``lose_at``-th one, the sweeper recovers the job."""

    def __init__(self, clock, lose_at=None):
        super().__init__(clock=clock)
        self.beats = 0
        self._lose_at = lose_at
        self._clock_ = clock

    def renew_lease(self, job_id, claim, **options):
        self.beats += 1
        if self.beats == self._lose_at:
            self._clock_.advance(self.get_job(job_id).lease_expires_at - self._clock_())
            self.recover_expired_leases(actor="sweeper")
        return super().renew_lease(job_id, claim, **options)


def test_simulated_work_heartbeats_as_it_works():
    store = BeatCountingStore(ManualClock(START))
    job = claimed(store, lease_seconds=0.03)
    worker_here(store, simulated_work(seconds=0.1), lease_seconds=0.03).process(job)
    assert store.beats >= 2
    assert store.get_job(job.id).status is COMPLETED


def test_simulated_work_stops_when_a_heartbeat_finds_the_job_lost():
    store = BeatCountingStore(ManualClock(START), lose_at=2)
    job = claimed(store, lease_seconds=0.02)
    worker_here(store, simulated_work(seconds=600), lease_seconds=0.02).process(job)
    assert store.beats == 2, "the work ended at the first refused heartbeat"
    final = store.get_job(job.id)
    assert final.status is FAILED and final.last_error.startswith("lease expired")
    late = store.transitions()[-1]
    assert (late.accepted, late.to_status, late.claim) == (False, FAILED, 1)
    assert late.detail == "claim 1 reported failed after losing the job; the job is failed now"


# --- fencing --------------------------------------------------------------------------------


REPORTS = {
    "completed": lambda store, job_id, claim: store.update_status(
        job_id, COMPLETED, claim=claim, actor="worker-1"
    ),
    "failed": lambda store, job_id, claim: store.update_status(
        job_id, FAILED, "late failure", claim=claim, actor="worker-1"
    ),
    "failed for good": lambda store, job_id, claim: store.update_status(
        job_id, FAILED, "late failure", claim=claim, permanent=True, actor="worker-1"
    ),
}


@pytest.mark.parametrize("report", REPORTS)
def test_a_report_from_a_stale_claim_is_refused_with_stale_claim(new_store, report):
    store, clock = new_store()
    job = claimed(store, actor="worker-1")
    current = reclaim(store, clock, job, actor="worker-2")
    to_status = COMPLETED if report == "completed" else FAILED
    error, entry = refused(store, lambda: REPORTS[report](store, job.id, 1), StaleClaim)
    assert isinstance(error, InvalidTransition)
    assert (error.job_id, error.stale_claim, error.current_claim) == (job.id, 1, 2)
    assert (error.from_status, error.to_status) == (PROCESSING, to_status)
    assert str(error) == (
        f"job {job.id!r}: claim 1 reported {to_status.value} after losing the job; "
        "claim 2 holds the job"
    )
    assert (entry.job_id, entry.from_status, entry.to_status) == (job.id, PROCESSING, to_status)
    assert (entry.claim, entry.actor) == (1, "worker-1")
    assert (
        entry.detail
        == f"claim 1 reported {to_status.value} after losing the job; claim 2 holds the job"
    )
    assert store.get_job(job.id) == current
    done = store.update_status(job.id, COMPLETED, claim=2)
    assert done.status is COMPLETED
    assert find_violations(store.list_jobs(), store.transitions()) == []


@pytest.mark.parametrize("final", [COMPLETED, PENDING])
def test_a_stale_report_after_the_job_moved_on_says_where_it_is(new_store, final):
    store, clock = new_store()
    job = claimed(store)
    if final is COMPLETED:
        current = reclaim(store, clock, job)
        store.update_status(job.id, COMPLETED, claim=current.claim)
    else:
        store.release_job(job.id, job.claim)
        store.claim_job(job.id)
        store.release_job(job.id, 2)
    error, entry = refused(
        store, lambda: store.update_status(job.id, COMPLETED, claim=1), StaleClaim
    )
    assert error.from_status is final
    assert entry.detail.endswith(f"the job is {final.value} now")


def test_a_claim_from_the_future_is_just_as_stale(new_store):
    store, _ = new_store()
    job = claimed(store)
    error, _ = refused(store, lambda: store.update_status(job.id, COMPLETED, claim=2), StaleClaim)
    assert (error.stale_claim, error.current_claim) == (2, 1)


def test_the_current_claim_may_report_after_its_lease_ran_out_until_the_sweeper_acts(new_store):
    """Fencing goes by claim number, not by the clock: until a sweep recovers the job, the
    claim still holds it, so a report that is merely late is not a stale one."""
    store, clock = new_store()
    job = claimed(store)
    clock.advance(10 * LEASE)
    assert store.update_status(job.id, COMPLETED, claim=job.claim).status is COMPLETED
    assert store.recover_expired_leases() == []


def test_a_stale_report_is_fenced_even_when_the_table_would_allow_the_move(new_store):
    store, clock = new_store()
    job = claimed(store)
    lose(store, clock, job)  # failed now; failed -> pending is in the table
    error, entry = refused(store, lambda: store.update_status(job.id, PENDING, claim=1), StaleClaim)
    assert (error.from_status, error.to_status) == (FAILED, PENDING)
    assert (
        entry.detail
        == "claim 1 asked to release the job after losing the job; the job is failed now"
    )


def test_the_audit_log_replay_finds_no_stale_result_after_fencing(new_store):
    store, clock = new_store()
    job = claimed(store)
    reclaim(store, clock, job)
    with pytest.raises(StaleClaim):
        store.update_status(job.id, COMPLETED, claim=1)
    store.update_status(job.id, COMPLETED, claim=2)
    violations = find_violations(store.list_jobs(), store.transitions())
    assert [v for v in violations if v.invariant == STALE_RESULT] == []
    assert violations == []


# --- recovery -------------------------------------------------------------------------------


def test_recovery_fails_expired_jobs_saying_why_and_leaves_live_leases_alone(new_store):
    store, clock = new_store(lease_seconds=LEASE)
    expired = claimed(store, actor="worker-3")
    live = claimed(store, actor="worker-4", lease_seconds=60)
    waiting = store.create_job("t")
    done = claimed(store)
    done = store.update_status(done.id, COMPLETED, claim=1)
    clock.advance(LEASE - 0.5)
    assert store.recover_expired_leases() == [], "half a second before the deadline"
    clock.advance(0.5)
    log = store.transitions()
    recovered = store.recover_expired_leases(actor="sweeper")
    assert [j.id for j in recovered] == [expired.id]
    got = recovered[0]
    assert (got.status, got.attempts, got.claim, got.lease_expires_at) == (FAILED, 1, 1, None)
    assert got.last_error == "lease expired after 30.0 s: worker-3 lost or stuck on attempt 1"
    assert store.get_job(expired.id) == got
    for untouched_job in (live, waiting, done):
        assert store.get_job(untouched_job.id) == untouched_job
    [entry] = store.transitions()[len(log) :]
    assert (entry.from_status, entry.to_status, entry.accepted) == (PROCESSING, FAILED, True)
    assert (entry.actor, entry.claim, entry.detail) == ("sweeper", 1, got.last_error)


def test_a_recovered_job_is_retried_within_max_retries_and_its_attempts_counted(new_store):
    store, clock = new_store()
    job = claimed(store, max_retries=2, actor="worker-1")
    lose(store, clock, job)
    assert [j.id for j in store.retry_failed_jobs()] == [job.id]
    second = store.claim_job(job.id, actor="worker-2", lease_seconds=5)
    assert (second.attempts, second.claim) == (2, 2)
    last = lose(store, clock, second)
    assert last.last_error == "lease expired after 5.0 s: worker-2 lost or stuck on attempt 2"
    assert (last.status, last.attempts, last.is_dead) == (FAILED, 2, True)
    assert store.retry_failed_jobs() == []
    assert store.get_dead_jobs() == [last]
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_the_recovery_message_names_the_lease_of_the_latest_heartbeat(new_store):
    store, clock = new_store()
    job = claimed(store, lease_seconds=10, actor="worker-7")
    store.renew_lease(job.id, 1, lease_seconds=2.5)
    clock.advance(2.5)
    [got] = store.recover_expired_leases()
    assert got.last_error == "lease expired after 2.5 s: worker-7 lost or stuck on attempt 1"


def test_recovery_with_nothing_expired_writes_nothing(new_store):
    store, clock = new_store()
    claimed(store)
    log = store.transitions()
    clock.advance(LEASE / 2)
    assert store.recover_expired_leases() == []
    assert store.transitions() == log


class ReadingBackoff:
    """A backoff policy that reads the store it belongs to while a failure is being saved."""

    def __init__(self):
        self.store = None
        self.seen = []

    def __call__(self, job):
        self.seen.append((job.status, self.store.get_job(job.id).status))
        return 0.0


def test_a_backoff_that_reads_the_store_during_recovery_sees_the_job_before_the_change(new_store):
    backoff = ReadingBackoff()
    store, clock = new_store(backoff=backoff)
    backoff.store = store
    claimed(store)
    clock.advance(LEASE)
    [recovered] = store.recover_expired_leases()
    assert recovered.status is FAILED
    assert backoff.seen == [(PROCESSING, PROCESSING)]


# --- releasing ------------------------------------------------------------------------------


def test_the_holder_releases_a_job_without_spending_its_attempt(new_store):
    store, _ = new_store()
    job = claimed(store, max_retries=1, actor="worker-1")
    log = store.transitions()
    released = store.release_job(job.id, job.claim, actor="worker-1")
    assert (released.status, released.attempts, released.claim) == (PENDING, 0, 1)
    assert released.lease_expires_at is None and released.last_error is None
    [entry] = store.transitions()[len(log) :]
    assert (entry.from_status, entry.to_status, entry.accepted) == (PROCESSING, PENDING, True)
    assert (entry.actor, entry.claim) == ("worker-1", 1)
    assert entry.detail == "released by worker-1: attempt 1 not counted"
    again = store.claim_job(job.id)
    assert (again.attempts, again.claim) == (1, 2), "the whole budget is still there"
    store.update_status(job.id, COMPLETED, claim=2)
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_only_the_holder_may_release(new_store):
    store, clock = new_store()
    job = claimed(store, actor="worker-1")
    current = reclaim(store, clock, job, actor="worker-2")
    error, entry = refused(
        store, lambda: store.release_job(job.id, 1, actor="worker-1"), StaleClaim
    )
    assert (error.stale_claim, error.current_claim) == (1, 2)
    assert (
        entry.detail
        == "claim 1 asked to release the job after losing the job; claim 2 holds the job"
    )
    assert (entry.from_status, entry.to_status, entry.claim) == (PROCESSING, PENDING, 1)
    assert store.get_job(job.id) == current


@pytest.mark.parametrize("status", [PENDING, COMPLETED, FAILED])
def test_a_job_that_is_not_processing_cannot_be_released(new_store, status):
    store, _ = new_store()
    job = claimed(store)
    if status is PENDING:
        store.release_job(job.id, 1)
    else:
        store.update_status(job.id, status, "boom" if status is FAILED else None, claim=1)
    error, entry = refused(store, lambda: store.release_job(job.id, 1), StaleClaim)
    assert error.from_status is status
    assert entry.detail.endswith(f"the job is {status.value} now")


# --- stopping gracefully --------------------------------------------------------------------


def test_the_default_stop_timeout_is_at_most_three_seconds():
    assert pool_module.STOP_TIMEOUT <= 3.0
    assert WorkerPool.stop.__defaults__ == (pool_module.STOP_TIMEOUT,)


def test_stop_returns_in_time_although_a_handler_ignores_it_and_its_late_report_is_fenced(
    new_store,
):
    store, clock = new_store()
    started, let_go = threading.Event(), threading.Event()

    def stubborn(job):
        started.set()
        let_go.wait(30)  # never looks at stop_requested()

    pool = WorkerPool(store, workers=1, handler=stubborn, sweeper_interval=0.01, lease_seconds=5)
    pool.start()
    job = pool.submit("stubborn", max_retries=2)
    try:
        assert started.wait(10)
        began = time.monotonic()
        assert pool.stop(timeout=0.2) is False, "the handler is still running"
        assert time.monotonic() - began < 0.2 + 3.0, "stop() returns within about its timeout"
        held = store.get_job(job.id)
        assert (held.status, held.attempts, held.claim) == (PROCESSING, 1, 1)
        assert (held.claimed_by, held.lease_expires_at) == ("worker-1", START + 5)
        current = reclaim(store, clock, held, actor="worker-9")
    finally:
        let_go.set()
    assert wait_for(lambda: not pool.workers[0].is_alive())
    late = store.transitions()[-1]
    assert (late.accepted, late.claim, late.actor, late.to_status) == (
        False,
        1,
        "worker-1",
        COMPLETED,
    )
    assert late.detail == "claim 1 reported completed after losing the job; claim 2 holds the job"
    assert store.get_job(job.id) == current
    assert pool.stop(timeout=0.2) is True, "every thread is gone now"


def test_work_cut_short_by_stop_on_its_last_attempt_is_released_not_failed(new_store):
    store, _ = new_store()
    started = threading.Event()

    def polite(job):
        started.set()
        if stop_requested().wait(30):
            raise WorkInterrupted("stopping")

    pool = WorkerPool(store, workers=1, handler=polite, sweeper_interval=0.01, lease_seconds=5)
    pool.start()
    job = pool.submit("polite", max_retries=1)
    assert started.wait(10)
    began = time.monotonic()
    assert pool.stop(timeout=2.0) is True
    assert time.monotonic() - began < 2.0 + 3.0
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim, final.last_error) == (PENDING, 0, 1, None)
    assert store.get_failed_jobs() == []
    release = store.transitions()[-1]
    assert (release.from_status, release.to_status, release.claim) == (PROCESSING, PENDING, 1)
    assert release.detail == "released by worker-1: attempt 1 not counted"
    with WorkerPool(store, workers=1, sweeper_interval=0.001) as second:
        assert second.wait(timeout=30)
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim) == (COMPLETED, 1, 2)
    assert find_violations(store.list_jobs(), store.transitions()) == []


# --- permanent failures, the dead-letter view, requeue --------------------------------------


def test_a_permanent_failure_fails_the_job_for_good_at_once(new_store):
    store, clock = new_store(backoff=constant(5))

    def refuse(job):
        raise PermanentFailure("card refused")

    job = claimed(store, max_retries=3)
    worker_here(store, refuse).process(job)
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.permanent) == (FAILED, 1, True)
    assert final.last_error == "PermanentFailure: card refused"
    assert final.retry_at is None and final.is_dead and final.is_settled
    clock.advance(3600)
    assert store.retry_failed_jobs() == []
    assert store.get_dead_jobs() == [final] and store.all_settled()
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_a_permanent_failure_cannot_be_sent_back_to_pending_by_hand(new_store):
    store, _ = new_store()
    job = claimed(store, max_retries=3)
    store.update_status(job.id, FAILED, "card refused", claim=1, permanent=True)
    error, entry = refused(store, lambda: store.update_status(job.id, PENDING), ValueError)
    assert "permanent" in entry.detail and "permanent" in str(error)


def test_permanent_is_only_for_a_failure(new_store):
    store, _ = new_store()
    job = claimed(store)
    untouched(
        store,
        lambda: store.update_status(job.id, COMPLETED, claim=1, permanent=True),
        ValueError,
        match="permanent",
    )
    untouched(
        store,
        lambda: store.update_status(job.id, FAILED, "x", claim=1, permanent=1),
        TypeError,
        match="permanent",
    )


def test_the_dead_letter_view_holds_the_jobs_failed_for_good(new_store):
    store, clock = new_store()
    out_of_attempts = claimed(store, max_retries=1)
    store.update_status(out_of_attempts.id, FAILED, "timeout", claim=1)
    retryable = claimed(store, max_retries=2)
    store.update_status(retryable.id, FAILED, "timeout", claim=1)
    permanent = claimed(store, max_retries=5)
    store.update_status(permanent.id, FAILED, "bad payload", claim=1, permanent=True)
    claimed(store, lease_seconds=60)  # processing
    store.create_job("t")  # pending
    lost = claimed(store, max_retries=1)
    lose(store, clock, lost)
    dead = store.get_dead_jobs()
    assert [j.id for j in dead] == [out_of_attempts.id, permanent.id, lost.id]
    assert [j.last_error for j in dead] == [
        "timeout",
        "bad payload",
        "lease expired after 30.0 s: worker-1 lost or stuck on attempt 1",
    ]
    assert [j.id for j in store.get_failed_jobs()] == [
        out_of_attempts.id,
        retryable.id,
        permanent.id,
        lost.id,
    ], "get_failed_jobs keeps its meaning"


@pytest.mark.parametrize("permanent", [False, True])
def test_requeue_gives_a_dead_job_a_fresh_budget(new_store, permanent):
    store, _ = new_store()
    job = store.create_job("t", max_retries=2)
    got = store.claim_job(job.id)
    if permanent:
        store.update_status(job.id, FAILED, "broken", claim=got.claim, permanent=True)
    else:
        for _ in range(2):
            store.update_status(job.id, FAILED, "broken", claim=got.claim)
            store.retry_failed_jobs()
            got = store.claim_job(job.id) or got
    dead = store.get_job(job.id)
    assert dead.is_dead and store.get_dead_jobs() == [dead]
    log = store.transitions()
    back = store.requeue(job.id, actor="operator")
    assert (back.status, back.attempts, back.permanent, back.retry_at) == (PENDING, 0, False, None)
    assert (back.last_error, back.claim) == ("broken", dead.claim)
    assert store.get_dead_jobs() == []
    [entry] = store.transitions()[len(log) :]
    assert (entry.from_status, entry.to_status, entry.accepted, entry.actor) == (
        FAILED,
        PENDING,
        True,
        "operator",
    )
    assert entry.detail == "requeued by operator: a fresh budget of 2 attempts"
    runs = 0
    while (got := store.claim_job(job.id)) is not None:
        runs += 1
        assert got.claim == dead.claim + runs, "claim numbers go on from where they were"
        store.update_status(job.id, FAILED, "still broken", claim=got.claim)
        store.retry_failed_jobs()
    assert runs == 2, "exactly max_retries more attempts"
    assert store.get_dead_jobs() == [store.get_job(job.id)]
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_the_checker_accepts_the_runs_of_a_requeued_job(new_store):
    store, _ = new_store()
    runs = RunLog()
    fail_first_claim = simulated_work(fail=lambda job: "broken" if job.claim == 1 else None)
    worker = worker_here(store, runs.watch(fail_first_claim))
    job = store.create_job("t", max_retries=1)
    worker.process(store.claim_job(job.id))
    store.requeue(job.id, actor="operator")
    worker.process(store.claim_job(job.id))
    final = store.get_job(job.id)
    assert (final.status, final.claim, len(runs.runs)) == (COMPLETED, 2, 2)
    assert find_violations(store.list_jobs(), store.transitions(), handler_runs=runs.runs) == []


@pytest.mark.parametrize("status", ["pending", "processing", "completed", "retryable"])
def test_requeue_is_refused_for_a_job_that_is_not_dead(new_store, status):
    store, _ = new_store()
    job = store.create_job("t", max_retries=2)
    if status != "pending":
        store.claim_job(job.id)
    if status == "completed":
        store.update_status(job.id, COMPLETED, claim=1)
    if status == "retryable":
        store.update_status(job.id, FAILED, "boom", claim=1)
    error, entry = refused(store, lambda: store.requeue(job.id, actor="operator"), ValueError)
    now = "failed" if status == "retryable" else status
    assert entry.detail.startswith(
        f"only a dead job (failed for good) can be requeued; this one is {now}"
    )
    assert (entry.to_status, entry.actor) == (PENDING, "operator")
    assert str(error) == f"job {job.id!r} not requeued: {entry.detail}"


def test_requeue_of_an_unknown_job_is_job_not_found(new_store):
    store, _ = new_store()
    untouched(store, lambda: store.requeue("job-404"), JobNotFound)


# --- backoff policies -----------------------------------------------------------------------


def failed_on(attempt, job_id="job-001"):
    """The snapshot a backoff policy sees: the job on the attempt that just failed."""
    return Job(job_id, "t", PROCESSING, attempts=attempt, max_retries=100, claim=attempt)


def test_no_delay_and_constant_policies():
    assert [no_delay()(failed_on(n)) for n in (1, 2, 9)] == [0.0, 0.0, 0.0]
    assert [constant(2.5)(failed_on(n)) for n in (1, 2, 9)] == [2.5, 2.5, 2.5]


def test_exponential_grows_by_its_factor_up_to_its_cap():
    policy = exponential(base=1.0, factor=2.0, cap=10.0)
    assert [policy(failed_on(n)) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert exponential(base=0.5, factor=3.0, cap=100)(failed_on(3)) == 4.5
    assert policy(failed_on(10**6)) == 10.0, "a huge attempt number asks for the cap, no overflow"


def test_jitter_stays_within_its_spread_and_differs_across_jobs_and_attempts():
    policy = exponential(base=4.0, factor=1.0, cap=4.0, jitter=0.25)
    delays = {
        (n, attempt): policy(failed_on(attempt, f"job-{n:03d}"))
        for n in range(1, 11)
        for attempt in range(1, 4)
    }
    assert all(3.0 <= d <= 5.0 for d in delays.values())
    assert len(set(delays.values())) == len(delays), "every job and attempt gets its own spread"
    again = exponential(base=4.0, factor=1.0, cap=4.0, jitter=0.25)
    assert {key: again(failed_on(key[1], f"job-{key[0]:03d}")) for key in delays} == delays


def test_jitter_is_the_same_in_every_run():
    code = (
        "from jobqueue_lab import Job, JobStatus, exponential\n"
        "p = exponential(base=1.0, factor=2.0, cap=60.0, jitter=0.5)\n"
        "print([p(Job(f'job-{n:03d}', 't', JobStatus.PROCESSING, attempts=a, claim=a))"
        " for n in (1, 2, 3) for a in (1, 2, 3)])\n"
    )
    policy = exponential(base=1.0, factor=2.0, cap=60.0, jitter=0.5)
    here = [policy(failed_on(a, f"job-{n:03d}")) for n in (1, 2, 3) for a in (1, 2, 3)]
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == repr(here)


def test_jitter_never_asks_for_more_than_the_store_accepts(new_store):
    policy = exponential(base=MAX_DELAY, factor=1.0, cap=MAX_DELAY, jitter=1.0)
    assert all(
        0 <= policy(failed_on(a, f"job-{n}")) <= MAX_DELAY for n in range(50) for a in (1, 2)
    )
    store, _ = new_store(backoff=policy)
    job = claimed(store, max_retries=2)
    failed = store.update_status(job.id, FAILED, "boom", claim=1)
    assert START <= failed.retry_at <= START + MAX_DELAY


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: constant(-1), ValueError),
        (lambda: constant(float("nan")), ValueError),
        (lambda: constant(MAX_DELAY + 1), ValueError),
        (lambda: constant("5"), TypeError),
        (lambda: constant(True), TypeError),
        (lambda: exponential(base=-1), ValueError),
        (lambda: exponential(factor=0.5), ValueError),
        (lambda: exponential(cap=float("inf")), ValueError),
        (lambda: exponential(jitter=1.5), ValueError),
        (lambda: exponential(jitter=-0.1), ValueError),
        (lambda: exponential(base="1"), TypeError),
        (lambda: exponential(factor=None), TypeError),
    ],
)
def test_bad_backoff_arguments_are_refused_with_typed_errors(make, error):
    with pytest.raises(error):
        make()


def test_a_store_refuses_a_backoff_that_is_not_callable():
    with pytest.raises(TypeError, match="backoff"):
        InMemoryJobStore(backoff=5)


# --- the store honours retry_at -------------------------------------------------------------


def test_a_failed_job_is_retried_no_sooner_than_its_retry_at(new_store):
    store, clock = new_store(backoff=constant(10))
    job = claimed(store, max_retries=3)
    clock.advance(2)
    failed = store.update_status(job.id, FAILED, "boom", claim=1)
    assert failed.retry_at == START + 12
    assert failed.can_retry and not failed.is_dead and not store.all_settled()
    clock.advance(9.5)
    log = store.transitions()
    assert store.retry_failed_jobs() == []
    assert store.transitions() == log
    clock.advance(0.5)
    [back] = store.retry_failed_jobs()
    assert (back.id, back.status, back.retry_at, back.last_error) == (job.id, PENDING, None, "boom")


def test_exponential_backoff_spaces_the_retries_of_one_job(new_store):
    store, clock = new_store(backoff=exponential(base=1, factor=3, cap=20))
    job = store.create_job("t", max_retries=5)
    gaps = []
    for _ in range(4):
        got = store.claim_job(job.id)
        failed = store.update_status(job.id, FAILED, "boom", claim=got.claim)
        gaps.append(failed.retry_at - store.now())
        clock.advance(gaps[-1])
        store.retry_failed_jobs()
    assert gaps == [1, 3, 9, 20]


def test_recovered_jobs_wait_out_their_backoff_too(new_store):
    store, clock = new_store(backoff=constant(7))
    job = claimed(store)
    lost = lose(store, clock, job)
    assert lost.retry_at == store.now() + 7
    assert store.retry_failed_jobs() == []
    clock.advance(7)
    assert [j.id for j in store.retry_failed_jobs()] == [job.id]


def test_retry_sends_back_only_the_due_jobs_in_creation_order(new_store):
    store, clock = new_store(backoff=constant(10))
    a, b, c = (claimed(store) for _ in range(3))
    for job, at in ((c, 0), (a, 3), (b, 6)):
        clock.advance(at - (clock() - START))
        store.update_status(job.id, FAILED, "boom", claim=1)
    clock.advance(13 - (clock() - START))
    assert [j.id for j in store.retry_failed_jobs()] == [a.id, c.id]
    assert [j.id for j in store.get_failed_jobs()] == [b.id]


def test_the_last_attempt_and_a_permanent_failure_get_no_retry_at_and_the_policy_is_not_asked(
    new_store,
):
    asked = []
    store, _ = new_store(backoff=lambda job: asked.append(job) or 5.0)
    last = claimed(store, max_retries=1)
    assert store.update_status(last.id, FAILED, "boom", claim=1).retry_at is None
    permanent = claimed(store, max_retries=3)
    assert store.update_status(permanent.id, FAILED, "x", claim=1, permanent=True).retry_at is None
    assert asked == []


def test_the_policy_sees_the_attempt_that_just_failed_and_may_read_the_store(new_store):
    seen, made = [], []

    def policy(job):
        seen.append((job.status, job.attempts, made[0].get_job(job.id).status))
        return 1.0

    store, _ = new_store(backoff=policy)
    made.append(store)
    job = claimed(store, max_retries=3)
    result = []
    worker = threading.Thread(
        target=lambda: result.append(store.update_status(job.id, FAILED, "boom", claim=1))
    )
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the policy is called outside the store's lock"
    assert seen == [(PROCESSING, 1, PROCESSING)]
    assert result[0].retry_at == START + 1


@pytest.mark.parametrize(
    ("delay", "error"),
    [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        ("soon", TypeError),
        (MAX_DELAY * 2, ValueError),
    ],
)
def test_a_backoff_policy_returning_nonsense_still_records_the_failure_without_delay(
    new_store, delay, error, caplog
):
    """A broken policy is the caller's mistake, but a job stuck in processing would be worse:
    the failure is recorded with no delay, and the log says what was wrong."""
    store, clock = new_store(backoff=lambda job: delay)
    job = claimed(store)
    with caplog.at_level(logging.WARNING, logger="jobqueue_lab"):
        failed = store.update_status(job.id, FAILED, "boom", claim=1)
        assert (failed.status, failed.retry_at) == (FAILED, clock())
        store.retry_failed_jobs()
        again = store.claim_job(job.id)
        clock.advance(LEASE)
        [recovered] = store.recover_expired_leases()
    assert (recovered.id, recovered.claim, recovered.retry_at) == (job.id, again.claim, clock())
    [first, _second] = [r for r in caplog.records if "backoff policy failed" in r.getMessage()]
    assert error.__name__ in first.exc_text
