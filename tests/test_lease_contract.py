"""Leases, fencing, release, recovery, backoff and requeue: the same on every kind of store.

Each test takes ``make_store`` and so runs against every store; a ``ManualClock`` moves time on
without waiting, and every store takes it as its clock.
"""

import pytest

from jobqueue_lab import JobStatus, ManualClock, StaleClaim, constant

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


@pytest.fixture
def clock():
    return ManualClock(1000.0)


def last_entry(store):
    return store.transitions()[-1]


# --- a claim is a lease, numbered -----------------------------------------------------------


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


def test_a_finished_job_keeps_no_lease(make_store, clock):
    store = make_store(clock=clock)
    job = store.create_job("t")
    store.claim_job(job.id)
    done = store.update_status(job.id, COMPLETED, claim=1)
    assert (done.lease_expires_at, done.retry_at, done.claim) == (None, None, 1)
    assert last_entry(store).claim == 1


def test_claim_next_takes_the_job_waiting_longest(make_store, clock):
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


@pytest.mark.parametrize(
    ("lease", "error", "message"),
    [
        (0, ValueError, "lease_seconds must be more than 0"),
        (-1, ValueError, "lease_seconds must be a number from 0"),
        (float("inf"), ValueError, "lease_seconds must be a number from 0"),
        (10**6, ValueError, "lease_seconds must be a number from 0"),
        ("5", TypeError, "lease_seconds must be a number, got str"),
        (True, TypeError, "lease_seconds must be a number, got bool"),
    ],
)
def test_a_bad_lease_is_refused_before_anything_changes(make_store, lease, error, message):
    store = make_store()
    job = store.create_job("t")
    before = store.list_jobs(), store.transitions()
    for claim in (
        lambda: store.claim_job(job.id, lease_seconds=lease),
        lambda: store.claim_next(lease_seconds=lease),
    ):
        with pytest.raises(error, match=message):
            claim()
    assert (store.list_jobs(), store.transitions()) == before
    with pytest.raises(error, match=message):
        make_store(lease_seconds=lease)


# --- heartbeats -----------------------------------------------------------------------------


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


# --- fencing --------------------------------------------------------------------------------


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


def test_a_report_for_a_job_that_moved_on_names_where_it_is(make_store):
    store = make_store()
    job = store.create_job("t", max_retries=1)
    store.claim_job(job.id)
    store.update_status(job.id, COMPLETED, claim=1)
    with pytest.raises(StaleClaim) as caught:
        store.update_status(job.id, FAILED, "late", claim=1)
    assert str(caught.value).endswith("the job is completed now")


@pytest.mark.parametrize(
    ("claim", "error", "message"),
    [
        (0, ValueError, "claim must be an int >= 1, got 0"),
        (True, TypeError, "claim must be an int, got bool"),
        ("1", TypeError, "claim must be an int, got str"),
        (1.0, TypeError, "claim must be an int, got float"),
    ],
)
def test_a_bad_claim_is_refused_before_anything_changes(make_store, claim, error, message):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    before = store.list_jobs(), store.transitions()
    for call in (
        lambda: store.update_status(job.id, COMPLETED, claim=claim),
        lambda: store.renew_lease(job.id, claim),
        lambda: store.release_job(job.id, claim),
    ):
        with pytest.raises(error, match=message):
            call()
    assert (store.list_jobs(), store.transitions()) == before


# --- release --------------------------------------------------------------------------------


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


# --- recovery -------------------------------------------------------------------------------


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


def test_a_heartbeat_keeps_a_job_from_being_recovered(make_store, clock):
    store = make_store(clock=clock, lease_seconds=3)
    job = store.create_job("t")
    store.claim_job(job.id)
    for _ in range(5):
        clock.advance(2)
        store.renew_lease(job.id, 1)
        assert store.recover_expired_leases() == []
    assert store.get_job(job.id).status is PROCESSING


# --- backoff, permanent failures, the dead-letter view and requeue -------------------------


def test_a_failed_job_waits_for_its_backoff_before_it_is_retried(make_store, clock):
    store = make_store(clock=clock, backoff=constant(30))
    job = store.create_job("t")
    store.claim_job(job.id)
    failed = store.update_status(job.id, FAILED, "boom", claim=1)
    assert failed.retry_at == 1030.0
    clock.advance(29)
    assert store.retry_failed_jobs() == []
    assert not store.all_settled()
    clock.advance(1)
    [retried] = store.retry_failed_jobs()
    assert (retried.status, retried.retry_at) == (PENDING, None)


def test_a_backoff_policy_sees_the_attempt_that_failed(make_store, clock):
    seen = []

    def backoff(job):
        seen.append((job.id, job.attempts))
        return 10.0 * job.attempts

    store = make_store(clock=clock, backoff=backoff)
    job = store.create_job("t", max_retries=3)
    delays = []
    for attempt in (1, 2, 3):
        store.claim_next()
        failed = store.update_status(job.id, FAILED, f"attempt {attempt}", claim=attempt)
        delays.append(None if failed.retry_at is None else failed.retry_at - clock())
        clock.advance(100)
        store.retry_failed_jobs()
    assert delays == [10.0, 20.0, None], "no delay once no attempt is left"
    assert seen == [(job.id, 1), (job.id, 2)]


def test_a_permanent_failure_is_dead_at_once_and_requeue_brings_it_back(make_store, clock):
    store = make_store(clock=clock, backoff=constant(5))
    job = store.create_job("t", max_retries=3)
    store.claim_job(job.id)
    dead = store.update_status(job.id, FAILED, "card refused", claim=1, permanent=True)
    assert (dead.permanent, dead.retry_at, dead.is_dead) == (True, None, True)
    clock.advance(60)
    assert store.retry_failed_jobs() == []
    assert store.get_dead_jobs() == [dead]
    assert store.all_settled()
    back = store.requeue(job.id, actor="operator")
    assert (back.status, back.attempts, back.permanent, back.last_error) == (
        PENDING,
        0,
        False,
        "card refused",
    )
    assert last_entry(store).detail == "requeued by operator: a fresh budget of 3 attempts"
    assert store.claim_next().claim == 2
    assert store.get_dead_jobs() == []


@pytest.mark.parametrize(
    ("permanent", "status", "error", "message"),
    [
        ("yes", FAILED, TypeError, "permanent must be a bool, got str"),
        (True, COMPLETED, ValueError, "permanent=True is only for a job that fails"),
    ],
)
def test_a_bad_permanent_flag_is_refused(make_store, permanent, status, error, message):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    before = store.list_jobs(), store.transitions()
    with pytest.raises(error, match=message):
        store.update_status(job.id, status, "x" if status is FAILED else None, permanent=permanent)
    assert (store.list_jobs(), store.transitions()) == before


def test_only_a_dead_job_can_be_requeued_and_a_refusal_says_why(make_store):
    store = make_store()
    waiting = store.create_job("t")
    retryable = store.create_job("t", max_retries=2)
    store.claim_job(retryable.id)
    store.update_status(retryable.id, FAILED, "boom")
    with pytest.raises(ValueError, match=r"this one is pending$"):
        store.requeue(waiting.id)
    with pytest.raises(ValueError, match="this one is failed and will be retried by the sweeper"):
        store.requeue(retryable.id)
    refused = [t for t in store.transitions() if not t.accepted]
    assert [(t.job_id, t.to_status) for t in refused] == [
        (waiting.id, PENDING),
        (retryable.id, PENDING),
    ]
    assert store.get_job(waiting.id).status is PENDING
