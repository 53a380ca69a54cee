"""Each broken variant on its own: it makes its one mistake, and the correct baseline beside it
does not. (The scenarios that run them side by side are in test_scenarios, the full-size broken
pool in test_mutating_pool.)"""

import importlib
import threading

import pytest

from jobqueue_lab import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    InMemoryJobStore,
    InvalidTransition,
    JobNotFound,
    JobStore,
    WorkQueue,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.mistakes import baseline, broken
from jobqueue_lab.mistakes.baseline import PlainStore, error_lines
from jobqueue_lab.mistakes.broken import (
    ForgetfulWorker,
    JobRecord,
    LiveRecordStore,
    MutatingWorker,
    NoRetryLimitStore,
    RandomFailure,
    SaveTooEarlyStore,
    SelfRetryingWorker,
    UnlockedStore,
    error_lines_unchecked,
)
from jobqueue_lab.mistakes.scenarios.harness import run_threads

EMAIL_FAILS = "SimulatedFailure: email jobs always fail in this simulation"


def test_each_variant_lives_in_a_module_that_names_its_mistake_in_its_first_line():
    labels = ("Mistake 1", "Mistake 2", "Mistake 3", "Mistake 4", "Mistake 5", "Atomic updates")
    labels += ("No retry limit", "The worker retries by itself", "No lease", "No fencing")
    labels += ("Lost update across processes",)
    for name in broken.__all__:
        module = importlib.import_module(getattr(broken, name).__module__)
        assert module.__name__ != broken.__name__
        assert module.__doc__.startswith(labels), module.__name__
    assert "nothing here is a mistake" in baseline.__doc__.splitlines()[0]


# --- mistake 1 piece by piece ---------------------------------------------------------------


def test_the_live_record_store_hands_out_the_record_it_keeps():
    store = LiveRecordStore()
    record = store.create_job("email", {"to": "ada@example.org"})
    assert store.get_job(record.id) is record
    record.status = COMPLETED
    assert store.counts() == {PENDING: 0, PROCESSING: 0, COMPLETED: 1, FAILED: 0}
    assert store.list_jobs(COMPLETED) == [record]
    assert store.all_settled()


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((5,), TypeError, "job type must be a str"),
        (("",), ValueError, "job type must not be empty"),
        (("email", ["not", "a", "dict"]), TypeError, "payload must be a dict"),
    ],
)
def test_the_live_record_store_refuses_bad_jobs_and_stores_nothing(args, error, message):
    store = LiveRecordStore()
    with pytest.raises(error, match=message):
        store.create_job(*args)
    with pytest.raises(ValueError, match="max_retries must be an int >= 1"):
        store.create_job("email", max_retries=0)
    assert len(store) == 0
    with pytest.raises(JobNotFound):
        store.get_job("job-001")


def test_a_record_reads_like_a_job_for_policies_and_the_checker():
    record = JobRecord("job-001", "email", FAILED, {"to": "x"}, max_retries=2, attempts=1)
    assert record.can_retry and not record.is_settled
    assert record.payload_json() == '{"to": "x"}'
    assert fail_by_type("email")(record) == "email jobs always fail in this simulation"


def test_the_mutating_worker_assigns_each_field_itself():
    store = LiveRecordStore()
    report, email = store.create_job("report"), store.create_job("email")
    worker = MutatingWorker("worker-1", store, simulated_work(fail=fail_by_type("email")))
    assert worker.process(report) and worker.process(email)
    assert (report.status, report.attempts, report.last_error) == (COMPLETED, 1, None)
    assert (email.status, email.attempts, email.last_error) == (FAILED, 1, EMAIL_FAILS)
    assert worker.process(report) is False
    assert (report.status, report.attempts) == (COMPLETED, 1)


def test_the_mutating_workers_hooks_run_at_the_race_window_and_between_the_two_writes():
    store = LiveRecordStore()
    job = store.create_job("email")
    seen = []

    def race_window(record):
        seen.append(("checked", record.status, record.attempts))

    def between_writes(record):
        seen.append(("half-written", record.status, record.last_error))

    MutatingWorker(
        "worker-1",
        store,
        simulated_work(fail=fail_by_type("email")),
        race_window=race_window,
        between_writes=between_writes,
    ).process(job)
    assert seen == [("checked", PENDING, 0), ("half-written", FAILED, None)]

def test_the_live_record_store_keeps_the_contracts_shape_and_none_of_its_promises():
    store = LiveRecordStore()
    assert isinstance(store, JobStore)
    done, waiting = store.create_job("report"), store.create_job("email", max_retries=2)
    done.status = COMPLETED
    assert store.claim_job(done.id) is done  # handed over although it is not pending
    assert store.update_status(done.id, FAILED, "boom") is done  # completed -> failed, accepted
    assert (done.status, done.last_error) == (FAILED, "boom")
    assert store.get_failed_jobs() == [done]
    assert store.pending_ids() == [waiting.id] and store.pending_ids(limit=0) == []
    waiting.status, waiting.attempts = FAILED, 1
    assert store.retry_failed_jobs() == [done, waiting]
    assert done.status is waiting.status is PENDING
    with pytest.raises(TypeError, match="LiveRecordStore keeps no audit log"):
        store.transitions()


def test_the_live_record_store_can_only_look_again_to_know_when_all_is_settled():
    store = LiveRecordStore()
    record = store.create_job("report")
    assert store.wait_until_settled(timeout=0) is False
    record.status = COMPLETED
    assert store.wait_until_settled(timeout=0) is True
    assert store.wait_until_settled() is True


# --- the stores that each get one method wrong ----------------------------------------------


def test_the_plain_store_follows_the_table_and_the_limit():
    store = PlainStore()
    job = store.create_job("email", max_retries=1)
    assert store.claim_job(job.id).attempts == 1
    assert store.claim_job(job.id) is None
    with pytest.raises(InvalidTransition):
        store.update_status(job.id, PENDING)
    assert store.update_status(job.id, FAILED, "boom").last_error == "boom"
    assert store.retry_failed_jobs() == []
    with pytest.raises(JobNotFound):
        store.get_job("job-999")


def test_the_store_that_saves_too_early_returns_the_error_but_does_not_keep_it():
    store = SaveTooEarlyStore()
    job = store.create_job("email")
    store.claim_job(job.id)
    told = store.update_status(job.id, FAILED, "boom")
    assert (told.status, told.last_error) == (FAILED, "boom")
    stored = store.get_job(job.id)
    assert (stored.status, stored.last_error) == (FAILED, None)


def test_the_unlocked_store_lets_two_claims_of_one_job_both_win_and_loses_an_attempt():
    both_read = threading.Barrier(2, timeout=10)
    store = UnlockedStore(race_window=lambda job: both_read.wait())
    job = store.create_job("report")
    claimed = []
    run_threads(
        {name: lambda: claimed.append(store.claim_job(job.id)) for name in ("a", "b")}, timeout=10
    )
    assert [c.attempts for c in claimed] == [1, 1]
    assert store.get_job(job.id).attempts == 1


def test_the_real_store_under_the_same_pressure_gives_the_job_to_one_claim_only():
    both_there = threading.Barrier(2, timeout=10)
    store = InMemoryJobStore()
    job = store.create_job("report")
    claimed = []

    def claim():
        both_there.wait()
        claimed.append(store.claim_job(job.id))

    run_threads({"a": claim, "b": claim}, timeout=10)
    assert sorted(c is None for c in claimed) == [False, True]
    assert store.get_job(job.id).attempts == 1


def test_without_the_retry_limit_a_job_at_its_limit_is_retried_anyway():
    for store, retried in ((NoRetryLimitStore(), 1), (PlainStore(), 0)):
        job = store.create_job("email", max_retries=1)
        store.claim_job(job.id)
        store.update_status(job.id, FAILED, "boom")
        assert len(store.retry_failed_jobs()) == retried


# --- the workers that signal the wrong thing ------------------------------------------------


def test_the_forgetful_worker_is_refused_by_the_real_store_and_nothing_changes():
    store = InMemoryJobStore()
    job = store.claim_job(store.create_job("email").id)
    worker = ForgetfulWorker(
        "worker-1", store, WorkQueue(), simulated_work(fail=fail_by_type("email")), None
    )
    with pytest.raises(ValueError, match="a failed job needs a last_error"):
        worker.process(job)
    assert store.get_job(job.id).status is PROCESSING
    [refusal] = [t for t in store.transitions() if not t.accepted]
    assert (refusal.from_status, refusal.to_status) == (PROCESSING, FAILED)


def test_the_self_retrying_worker_runs_a_failing_handler_in_a_burst_and_reports_once():
    store = InMemoryJobStore()
    job = store.claim_job(store.create_job("email").id)
    runs = []

    def handler(job):
        runs.append(job.id)
        if len(runs) < 3:
            raise RuntimeError(f"try {len(runs)}")

    worker = SelfRetryingWorker("worker-1", store, WorkQueue(), handler, None, tries=5)
    worker.process(job)
    assert runs == ["job-001"] * 3
    assert (store.get_job(job.id).status, store.get_job(job.id).attempts) == (COMPLETED, 1)
    with pytest.raises(ValueError, match="tries must be an int >= 1"):
        SelfRetryingWorker("worker-1", store, WorkQueue(), handler, None, tries=0)


# --- reading errors, and flipping coins -----------------------------------------------------


def test_reading_last_error_without_a_check_crashes_and_with_one_does_not():
    jobs = [
        JobRecord("job-001", "email", FAILED, last_error="Boom\nmore"),
        JobRecord("job-002", "report", COMPLETED),
    ]
    lines = error_lines_unchecked(jobs)
    assert next(lines) == "job-001: Boom"
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'splitlines'"):
        next(lines)
    assert list(error_lines(jobs)) == ["job-001: Boom", "job-002: no error"]


def test_the_coin_flip_policy_refuses_a_bad_rate_and_says_what_it_is():
    for rate in (-0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match="rate must be a number from 0 to 1"):
            RandomFailure(rate)
    for rate in ("half", True, None):
        with pytest.raises(TypeError, match="rate must be a number"):
            RandomFailure(rate)
    assert repr(RandomFailure(0.25)) == "RandomFailure(rate=0.25)"
