"""Claims are leases, on every kind of store: the claim number and lease a claim grants,
heartbeats, fencing of stale reports, recovery of leases that ran out, and release (issue 11,
notebook 09).

Every test runs once per store, on a ``ManualClock`` (``new_store`` gives a store and its
clock; ``make_store`` with the ``clock`` fixture does the same), so a lease runs out exactly
when a test says so and never because the machine was slow. Every refusal is checked to leave
the store as it was, apart from the one audit entry that says why.
"""

import pytest

from jobqueue_lab import InvalidTransition, Job, JobNotFound, JobStatus, StaleClaim
from jobqueue_lab.checks import STALE_RESULT, find_violations
from tests.steps import (
    LEASE,
    START,
    claimed,
    last_entry,
    lose,
    reclaim,
    refused,
    state,
    untouched,
)

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


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


def test_each_claim_gets_the_next_number_and_a_lease_from_now(make_store, clock):
    store = make_store(clock=clock, lease_seconds=5)
    job = store.create_job("t")
    first = store.claim_job(job.id, actor="worker-1")
    assert (first.claim, first.claimed_by, first.lease_expires_at) == (1, "worker-1", 1005.0)
    store.update_status(job.id, FAILED, "boom", claim=1)
    store.retry_failed_jobs()
    clock.advance(10)
    second = store.claim_job(job.id, actor="worker-2", lease_seconds=2)
    assert (second.claim, second.attempts, second.lease_expires_at) == (2, 2, 1012.0)
    assert last_entry(store).claim == 2


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


def test_a_finished_job_keeps_no_lease(make_store, clock):
    store = make_store(clock=clock)
    job = store.create_job("t")
    store.claim_job(job.id)
    done = store.update_status(job.id, COMPLETED, claim=1)
    assert (done.lease_expires_at, done.retry_at, done.claim) == (None, None, 1)
    assert last_entry(store).claim == 1


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


def test_claim_next_takes_the_job_waiting_longest_and_grants_each_a_lease(make_store, clock):
    store = make_store(clock=clock, lease_seconds=7)
    first, second, third = (store.create_job("t").id for _ in range(3))
    store.claim_job(first)
    store.update_status(first, FAILED, "boom")
    store.retry_failed_jobs()  # first is pending again, behind the other two
    claimed = [store.claim_next(actor=f"worker-{n}") for n in (1, 2, 3)]
    assert [job.id for job in claimed] == [second, third, first]
    assert [job.lease_expires_at for job in claimed] == [1007.0] * 3
    assert store.claim_next() is None
    entries = store.transitions()[-3:]
    assert [(t.job_id, t.accepted, t.actor, t.claim) for t in entries] == [
        (second, True, "worker-1", 1),
        (third, True, "worker-2", 1),
        (first, True, "worker-3", 2),
    ]


def test_claim_next_on_an_empty_store_changes_nothing(make_store):
    store = make_store()
    assert store.claim_next() is None
    assert store.transitions() == []


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


def test_a_heartbeat_extends_the_lease_and_writes_no_audit_entry(make_store, clock):
    store = make_store(clock=clock, lease_seconds=5)
    job = store.create_job("t")
    store.claim_job(job.id)
    entries = len(store.transitions())
    clock.advance(4)
    renewed = store.renew_lease(job.id, 1)
    assert renewed.lease_expires_at == 1009.0
    assert store.renew_lease(job.id, 1, lease_seconds=60).lease_expires_at == 1064.0
    assert len(store.transitions()) == entries
    assert store.get_job(job.id) == store.renew_lease(job.id, 1, lease_seconds=60)


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


def test_a_heartbeat_from_a_lost_claim_is_refused_and_audited(make_store, clock):
    store = make_store(clock=clock, lease_seconds=5)
    job = store.create_job("t")
    store.claim_job(job.id, actor="worker-1")
    clock.advance(6)
    store.recover_expired_leases()
    store.retry_failed_jobs()
    store.claim_job(job.id, actor="worker-2")
    before = store.get_job(job.id)
    with pytest.raises(StaleClaim) as caught:
        store.renew_lease(job.id, 1, actor="worker-1")
    assert (caught.value.stale_claim, caught.value.current_claim) == (1, 2)
    assert str(caught.value) == (
        f"job {job.id!r}: claim 1 asked to renew its lease after losing the job; "
        "claim 2 holds the job"
    )
    assert store.get_job(job.id) == before
    entry = last_entry(store)
    assert (entry.accepted, entry.actor, entry.claim, entry.to_status) == (
        False,
        "worker-1",
        1,
        PROCESSING,
    )


@pytest.mark.parametrize("claim", [1, 2])
def test_a_heartbeat_for_a_job_nobody_holds_is_refused(new_store, claim):
    store, _ = new_store()
    job = store.create_job("t")
    error, entry = refused(store, lambda: store.renew_lease(job.id, claim), StaleClaim)
    assert (error.stale_claim, error.current_claim) == (claim, 0)
    assert entry.detail.endswith("the job is pending now")


def test_renewing_an_unknown_job_is_job_not_found(new_store):
    store, _ = new_store()
    untouched(store, lambda: store.renew_lease("job-999", 1), JobNotFound)
    untouched(store, lambda: store.release_job("job-999", 1), JobNotFound)


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


def test_a_late_report_from_an_expired_claim_is_fenced_off(make_store, clock):
    store = make_store(clock=clock, lease_seconds=5)
    job = store.create_job("t")
    store.claim_job(job.id, actor="zombie")
    clock.advance(5)  # a lease that runs out exactly now has run out
    [recovered] = store.recover_expired_leases(actor="sweeper")
    assert recovered.last_error == "lease expired after 5.0 s: zombie lost or stuck on attempt 1"
    store.retry_failed_jobs()
    store.claim_job(job.id, actor="worker-2")
    before = store.get_job(job.id)
    for status, error in ((COMPLETED, None), (FAILED, "late")):
        with pytest.raises(StaleClaim, match=r"claim 1 reported .* after losing the job"):
            store.update_status(job.id, status, error, claim=1, actor="zombie")
    assert store.get_job(job.id) == before
    refused = [t for t in store.transitions() if not t.accepted]
    assert [(t.actor, t.claim) for t in refused] == [("zombie", 1), ("zombie", 1)]
    assert refused[0].detail == (
        "claim 1 reported completed after losing the job; claim 2 holds the job"
    )
    done = store.update_status(job.id, COMPLETED, claim=2, actor="worker-2")
    assert (done.status, done.attempts) == (COMPLETED, 2)


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


def test_a_report_for_a_job_that_moved_on_names_where_it_is(make_store):
    store = make_store()
    job = store.create_job("t", max_retries=1)
    store.claim_job(job.id)
    store.update_status(job.id, COMPLETED, claim=1)
    with pytest.raises(StaleClaim) as caught:
        store.update_status(job.id, FAILED, "late", claim=1)
    assert str(caught.value).endswith("the job is completed now")


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


def test_only_leases_that_ran_out_are_recovered_and_the_attempt_counts(make_store, clock):
    store = make_store(clock=clock, lease_seconds=10)
    short, long_, spent = (store.create_job("t", max_retries=m).id for m in (2, 2, 1))
    store.claim_job(short, lease_seconds=1, actor="worker-1")
    store.claim_job(long_, actor="worker-2")
    store.claim_job(spent, lease_seconds=1, actor="worker-3")
    assert store.recover_expired_leases() == []
    clock.advance(2)
    recovered = store.recover_expired_leases(actor="sweeper")
    assert [job.id for job in recovered] == [short, spent]
    assert all(job.status is FAILED and job.attempts == 1 for job in recovered)
    assert store.get_job(long_).status is PROCESSING
    assert [job.id for job in store.retry_failed_jobs()] == [short]
    assert [job.id for job in store.get_dead_jobs()] == [spent]
    entry = [t for t in store.transitions() if t.job_id == spent][-1]
    assert (entry.actor, entry.claim, entry.to_status) == ("sweeper", 1, FAILED)


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


def test_a_heartbeat_keeps_a_job_from_being_recovered(make_store, clock):
    store = make_store(clock=clock, lease_seconds=3)
    job = store.create_job("t")
    store.claim_job(job.id)
    for _ in range(5):
        clock.advance(2)
        store.renew_lease(job.id, 1)
        assert store.recover_expired_leases() == []
    assert store.get_job(job.id).status is PROCESSING


def test_recovery_with_nothing_expired_writes_nothing(new_store):
    store, clock = new_store()
    claimed(store)
    log = store.transitions()
    clock.advance(LEASE / 2)
    assert store.recover_expired_leases() == []
    assert store.transitions() == log


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


def test_a_release_gives_the_job_back_without_spending_its_attempt(make_store, clock):
    store = make_store(clock=clock)
    job = store.create_job("t", max_retries=1)
    store.claim_job(job.id, actor="worker-1")
    released = store.release_job(job.id, 1, actor="worker-1")
    assert (released.status, released.attempts, released.claim) == (PENDING, 0, 1)
    assert released.lease_expires_at is None
    entry = last_entry(store)
    assert (entry.from_status, entry.to_status, entry.claim, entry.detail) == (
        PROCESSING,
        PENDING,
        1,
        "released by worker-1: attempt 1 not counted",
    )
    again = store.claim_next()
    assert (again.attempts, again.claim) == (1, 2), "the budget is whole, the number moves on"


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


def test_only_the_current_claim_may_release(make_store):
    store = make_store()
    job = store.create_job("t")
    with pytest.raises(StaleClaim, match=r"asked to release the job .* the job is pending now"):
        store.release_job(job.id, 1)
    store.claim_job(job.id)
    with pytest.raises(StaleClaim, match="claim 1 holds the job"):
        store.release_job(job.id, 7)
    assert store.get_job(job.id).status is PROCESSING
    assert [t.accepted for t in store.transitions()] == [True, False, True, False]


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
