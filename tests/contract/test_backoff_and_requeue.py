"""Permanent failures, the dead-letter view, requeue, backoff and ``retry_at``, on every kind
of store: each test runs once per store, on a ``ManualClock`` (``new_store`` gives a store and
its clock; ``make_store`` with the ``clock`` fixture does the same).

How each backoff policy computes its delay, with no store, is in ``engine/test_backoff.py``;
here the store asks a policy, records ``retry_at``, and retries a job no sooner.
"""

import logging
import threading

import pytest

from jobqueue_lab import (
    JobNotFound,
    JobStatus,
    PermanentFailure,
    constant,
    exponential,
    simulated_work,
)
from jobqueue_lab.backoff import MAX_DELAY
from jobqueue_lab.checks import RunLog, find_violations
from tests.steps import (
    LEASE,
    START,
    claimed,
    failed_on,
    last_entry,
    lose,
    refused,
    untouched,
    worker_here,
)

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


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


def test_requeue_of_an_unknown_job_is_job_not_found(new_store):
    store, _ = new_store()
    untouched(store, lambda: store.requeue("job-404"), JobNotFound)


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


def test_jitter_never_asks_for_more_than_the_store_accepts(new_store):
    policy = exponential(base=MAX_DELAY, factor=1.0, cap=MAX_DELAY, jitter=1.0)
    assert all(
        0 <= policy(failed_on(a, f"job-{n}")) <= MAX_DELAY for n in range(50) for a in (1, 2)
    )
    store, _ = new_store(backoff=policy)
    job = claimed(store, max_retries=2)
    failed = store.update_status(job.id, FAILED, "boom", claim=1)
    assert START <= failed.retry_at <= START + MAX_DELAY


# --- what the store asks a backoff policy, and a policy that misbehaves ----------------------


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
