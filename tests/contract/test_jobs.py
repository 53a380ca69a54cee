"""A job's life in the store, on every kind of store (``make_store``): creating, reading,
claiming, reporting, retrying, the refusals of moves the transition table forbids, the audit
log, and waiting until every job has settled. Clocks that read the store or break leave every
write whole.

Claims as leases are in ``test_leases.py``; bad arguments, refused before anything changes, in
``test_bad_input.py``.
"""

import math
import threading
from datetime import UTC

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    InvalidTransition,
    JobNotFound,
    JobQueueError,
    JobStatus,
)
from tests.steps import store_state
from tests.support import run_with_deadline

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def state(store):
    """Everything observable about a store, to prove a refused call changed nothing."""
    return store.list_jobs(), store.counts(), len(store)


def failed_job(store, error="boom", **kwargs):
    job = store.create_job("email", **kwargs)
    store.claim_job(job.id)
    return store.update_status(job.id, FAILED, error)


def fail_once(store, job_id, error="boom"):
    store.claim_job(job_id)
    store.update_status(job_id, FAILED, error)


# --- creating ---------------------------------------------------------------------------


def test_create_job_starts_pending_with_sequential_readable_ids(make_store):
    store = make_store()
    first = store.create_job("email", {"to": "ada@example.org"})
    second = store.create_job("report", max_retries=5)
    assert (first.id, second.id) == ("job-001", "job-002")
    assert first.status is PENDING and first.attempts == 0 and first.last_error is None
    assert first.max_retries == 3 and second.max_retries == 5
    assert first.created_at.tzinfo is UTC
    assert store.get_job("job-001") == first


def test_the_callers_payload_dict_is_copied(make_store):
    payload = {"to": "ada@example.org", "tags": ["a"]}
    store = make_store()
    job = store.create_job("email", payload)
    payload["to"] = "changed"
    payload["tags"].append("b")
    assert dict(store.get_job(job.id).payload) == {"to": "ada@example.org", "tags": ("a",)}


# --- reading ----------------------------------------------------------------------------


def test_get_job_of_unknown_id_raises_job_not_found_which_is_also_a_key_error(make_store):
    store = make_store()
    with pytest.raises(JobNotFound) as caught:
        store.get_job("job-404")
    assert caught.value.job_id == "job-404"
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, JobQueueError)
    assert str(caught.value) == "no job with id 'job-404'"


def test_lists_are_in_creation_order_and_filtered_by_status(make_store):
    store = make_store()
    ids = [store.create_job("t", max_retries=2).id for _ in range(4)]
    for job_id in (ids[2], ids[0]):
        store.claim_job(job_id)
        store.update_status(job_id, FAILED, "boom")
    store.retry_failed_jobs()  # both back to pending, after the two that never left it
    assert [j.id for j in store.list_jobs()] == ids
    assert [j.id for j in store.get_pending_jobs()] == ids
    store.claim_job(ids[3])
    assert [j.id for j in store.get_processing_jobs()] == [ids[3]]
    assert [j.id for j in store.list_jobs("pending")] == ids[:3]
    assert store.counts() == {PENDING: 3, PROCESSING: 1, COMPLETED: 0, FAILED: 0}
    with pytest.raises(ValueError, match="unknown job status"):
        store.list_jobs("done")


def test_pending_ids_puts_the_longest_waiting_first(make_store):
    store = make_store()
    first, second, third = (store.create_job("t").id for _ in range(3))
    fail_once(store, first)
    store.retry_failed_jobs()
    assert store.pending_ids() == [second, third, first], "a retried job waits at the back"
    assert store.pending_ids(limit=2) == [second, third]
    assert store.pending_ids(limit=0) == []


def test_snapshots_do_not_change_when_the_store_does(make_store):
    store = make_store()
    before = store.create_job("t")
    store.claim_job(before.id)
    assert before.status is PENDING and before.attempts == 0
    assert store.get_job(before.id).status is PROCESSING


# --- claiming ---------------------------------------------------------------------------


def test_claim_moves_pending_to_processing_and_counts_the_attempt(make_store):
    store = make_store()
    job = store.create_job("t")
    claimed = store.claim_job(job.id)
    assert claimed.status is PROCESSING and claimed.attempts == 1


def test_a_second_claim_returns_none_and_is_logged_as_refused(make_store):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id, actor="worker-1")
    assert store.claim_job(job.id, actor="worker-2") is None
    refused = store.transitions()[-1]
    assert (refused.accepted, refused.actor, refused.from_status) == (False, "worker-2", PROCESSING)
    assert refused.detail == "job is processing, not pending"
    assert store.get_job(job.id).attempts == 1


def test_claim_of_unknown_job_raises(make_store):
    with pytest.raises(JobNotFound):
        make_store().claim_job("nope")


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_only_one_of_many_threads_released_together_wins_a_claim(make_store, repetition):
    store = make_store()
    job = store.create_job("t")
    contenders = 8
    start = threading.Barrier(contenders)
    results = []

    def contend():
        start.wait(timeout=10)
        results.append(store.claim_job(job.id))

    threads = [threading.Thread(target=contend, name=f"worker-{n}") for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    winners = [r for r in results if r is not None]
    assert len(results) == contenders
    assert len(winners) == 1
    assert store.get_job(job.id).attempts == 1
    refused = [t for t in store.transitions() if not t.accepted]
    assert len(refused) == contenders - 1


# --- updating ---------------------------------------------------------------------------


def test_failing_sets_status_and_error_together(make_store):
    store = make_store()
    job = store.create_job("email")
    store.claim_job(job.id)
    failed = store.update_status(job.id, "failed", "SMTP timeout")
    assert (failed.status, failed.last_error) == (FAILED, "SMTP timeout")
    entry = store.transitions()[-1]
    assert (entry.from_status, entry.to_status, entry.detail) == (
        PROCESSING,
        FAILED,
        "SMTP timeout",
    )


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_failing_without_a_reason_is_refused(make_store, missing):
    store = make_store()
    job = store.create_job("email")
    store.claim_job(job.id)
    before = state(store)
    with pytest.raises(ValueError, match="needs a last_error"):
        store.update_status(job.id, FAILED, missing)
    assert state(store) == before
    assert store.transitions()[-1].accepted is False


def test_an_invalid_transition_raises_with_the_facts_and_changes_nothing(make_store):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    store.update_status(job.id, COMPLETED)
    before = state(store)
    with pytest.raises(InvalidTransition) as caught:
        store.update_status(job.id, FAILED, "too late")
    err = caught.value
    assert (err.job_id, err.from_status, err.to_status) == (job.id, COMPLETED, FAILED)
    assert isinstance(err, ValueError)
    assert "cannot move from 'completed' to 'failed'" in str(err)
    assert "it may move to nothing" in str(err)
    assert state(store) == before
    assert store.transitions()[-1].accepted is False


@pytest.mark.parametrize("target", list(JobStatus))
def test_a_completed_job_never_changes_again(make_store, target):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    done = store.update_status(job.id, COMPLETED)
    with pytest.raises(InvalidTransition):
        store.update_status(job.id, target, "x" if target is FAILED else None)
    assert store.get_job(job.id) == done


def test_a_status_to_itself_is_refused(make_store):
    store = make_store()
    job = store.create_job("t")
    with pytest.raises(InvalidTransition):
        store.update_status(job.id, PENDING)


def test_completing_after_a_failure_keeps_the_earlier_error_for_debugging(make_store):
    store = make_store()
    job = failed_job(store, "first try failed")
    store.retry_failed_jobs()
    assert store.get_job(job.id).last_error == "first try failed"
    store.claim_job(job.id)
    done = store.update_status(job.id, COMPLETED)
    assert (done.status, done.last_error, done.attempts) == (COMPLETED, "first try failed", 2)


def test_update_to_processing_counts_an_attempt_like_a_claim(make_store):
    store = make_store()
    job = store.create_job("t")
    assert store.update_status(job.id, "processing").attempts == 1


def test_update_of_unknown_job_raises_job_not_found(make_store):
    with pytest.raises(JobNotFound):
        make_store().update_status("nope", COMPLETED)


# --- retrying ---------------------------------------------------------------------------


def test_retry_moves_failed_jobs_with_attempts_left_back_to_pending(make_store):
    store = make_store()
    retryable = failed_job(store, max_retries=2)
    exhausted = failed_job(store, max_retries=1)
    retried = store.retry_failed_jobs()
    assert [j.id for j in retried] == [retryable.id]
    assert retried[0].status is PENDING and retried[0].last_error == "boom"
    assert store.get_job(exhausted.id).status is FAILED
    assert store.retry_failed_jobs() == []


def test_only_jobs_with_attempts_left_are_retried_and_keep_the_store_unsettled(make_store):
    store = make_store()
    spent = store.create_job("t", max_retries=1).id
    again = store.create_job("t", max_retries=2).id
    fail_once(store, spent)
    fail_once(store, again)
    assert not store.all_settled()
    assert [job.id for job in store.retry_failed_jobs()] == [again]
    assert store.retry_failed_jobs() == [], "nothing left to retry"
    fail_once(store, again)
    assert store.all_settled()
    assert [job.id for job in store.get_failed_jobs()] == [spent, again]


def test_max_retries_is_the_number_of_runs_in_total(make_store):
    store = make_store()
    job = store.create_job("t", max_retries=3)
    runs = 0
    while True:
        if store.claim_job(job.id) is None:
            break
        runs += 1
        store.update_status(job.id, FAILED, f"run {runs} failed")
        store.retry_failed_jobs()
    assert runs == 3
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.last_error) == (FAILED, 3, "run 3 failed")


def test_retry_failed_jobs_returns_jobs_in_creation_order_whatever_order_they_failed_in(make_store):
    store = make_store()
    ids = [store.create_job("t").id for _ in range(4)]
    for job_id in reversed(ids):
        store.claim_job(job_id)
        store.update_status(job_id, FAILED, "boom")
    assert [job.id for job in store.retry_failed_jobs()] == ids


def test_manual_retry_past_the_limit_is_refused(make_store):
    store = make_store()
    job = failed_job(store, max_retries=1)
    with pytest.raises(ValueError, match=r"no attempts left \(1 of 1 used\)"):
        store.update_status(job.id, PENDING)
    assert store.get_job(job.id).status is FAILED


# --- a clock that reads the store, or breaks --------------------------------------------------


def test_a_clock_that_reads_the_store_does_not_deadlock(make_store):
    made: list[InMemoryJobStore] = []
    store = make_store(clock=lambda: float(len(made[0])) if made else 0.0)
    made.append(store)
    job = run_with_deadline(lambda: store.create_job("t"))
    run_with_deadline(lambda: store.claim_job(job.id))
    assert store.get_job(job.id).status is PROCESSING


class BreakableClock:
    def __init__(self):
        self.reading = 0.0

    def __call__(self):
        if isinstance(self.reading, Exception):
            raise self.reading
        return self.reading


@pytest.mark.parametrize(
    ("reading", "error"),
    [(RuntimeError("clock broke"), RuntimeError), ("noon", TypeError), (math.nan, ValueError)],
)
def test_a_broken_clock_leaves_every_write_all_or_nothing(make_store, reading, error):
    clock = BreakableClock()
    store = make_store(clock=clock)
    job = store.create_job("t", max_retries=2)
    failed = store.create_job("t", max_retries=2)
    store.claim_job(failed.id)
    store.update_status(failed.id, FAILED, "boom")
    before = store_state(store)
    clock.reading = reading
    for write in (
        lambda: store.create_job("t"),
        lambda: store.claim_job(job.id),
        lambda: store.update_status(failed.id, PENDING),
        lambda: store.retry_failed_jobs(),
    ):
        with pytest.raises(error):
            write()
        assert store_state(store) == before


# --- the audit log and waiting ----------------------------------------------------------


def test_the_audit_log_records_every_attempted_change_in_order(make_store):
    store = make_store()
    job = store.create_job("t", actor="notebook")
    store.claim_job(job.id, actor="worker-1")
    store.update_status(job.id, FAILED, "boom", actor="worker-1")
    store.retry_failed_jobs(actor="sweeper")
    with pytest.raises(InvalidTransition):
        store.update_status(job.id, COMPLETED, actor="worker-2")
    rows = [
        (t.from_status, t.to_status, t.accepted, t.actor, t.detail) for t in store.transitions()
    ]
    assert rows == [
        (None, PENDING, True, "notebook", None),
        (PENDING, PROCESSING, True, "worker-1", None),
        (PROCESSING, FAILED, True, "worker-1", "boom"),
        (FAILED, PENDING, True, "sweeper", None),
        (
            PENDING,
            COMPLETED,
            False,
            "worker-2",
            "pending -> completed is not in the transition table",
        ),
    ]
    times = [t.at for t in store.transitions()]
    assert times == sorted(times) and times[0] >= 0
    assert len(store.transitions(start=3)) == 2


def test_the_actor_defaults_to_the_calling_threads_name(make_store):
    store = make_store()
    thread = threading.Thread(target=lambda: store.create_job("t"), name="worker-7")
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert store.transitions()[0].actor == "worker-7"


def test_wait_until_settled_returns_once_the_last_job_settles(make_store):
    store = make_store()
    job = store.create_job("t")
    assert store.wait_until_settled(timeout=0.01) is False
    store.claim_job(job.id)

    def finish():
        store.update_status(job.id, COMPLETED)

    threading.Thread(target=finish).start()
    assert store.wait_until_settled(timeout=10) is True
    assert store.all_settled()


def test_a_waiter_wakes_when_the_last_job_settles(make_store):
    store = make_store()
    job = store.create_job("t", max_retries=1)
    store.claim_job(job.id)
    waiting = threading.Event()
    result = []

    def wait():
        waiting.set()
        result.append(store.wait_until_settled(timeout=30))

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert waiting.wait(timeout=10)
    store.update_status(job.id, FAILED, "boom")
    waiter.join(timeout=30)
    assert result == [True]


def test_a_failed_job_with_attempts_left_is_not_settled(make_store):
    store = make_store()
    failed_job(store, max_retries=2)
    assert not store.all_settled()
    failed_job(make_store(), max_retries=1)
    single = make_store()
    failed_job(single, max_retries=1)
    assert single.all_settled()


def test_repr_shows_counts_only(make_store):
    store = make_store()
    store.create_job("t")
    name = type(store).__name__
    assert repr(store) == f"<{name} pending=1, processing=0, completed=0, failed=0>"
