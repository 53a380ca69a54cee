"""The broken variants show their defect on every run; the correct pattern, under the same
conditions, never does. Also: each variant on its own, the broken pool, and the tables."""

import doctest
import threading

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    InvalidTransition,
    JobNotFound,
    JobStatus,
    WorkQueue,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.checks import (
    COMPLETED_CHANGED,
    FAILED_WITHOUT_ERROR,
    PROCESSED_TWICE,
    TOO_MANY_ATTEMPTS,
    Violation,
)
from jobqueue_lab.mistakes import scenarios as scenarios_module
from jobqueue_lab.mistakes.broken import (
    ForgetfulWorker,
    JobRecord,
    LiveRecordStore,
    MutatingWorker,
    MutatingWorkerPool,
    NoRetryLimitStore,
    PlainStore,
    RandomFailure,
    SaveTooEarlyStore,
    SelfRetryingWorker,
    UnlockedStore,
    error_lines,
    error_lines_unchecked,
)
from jobqueue_lab.mistakes.scenarios import (
    CRASHED_READING_ERROR,
    OUTCOME_CHANGED,
    RETRY_STORM,
    SCENARIOS,
    ScenarioResult,
    run_all,
)
from jobqueue_lab.views import comparison
from jobqueue_lab.views.comparison import evidence_frame, jobs_frame, summary_frame
from tests.support import wait_for

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
EMAIL_FAILS = "SimulatedFailure: email jobs always fail in this simulation"
NO_ERROR = "failed, last_error is empty"
AT_ONCE = "worker-1 and worker-2 ran it at the same time"
TWICE_FOR_ONE = "handlers ran it 2 times for 1 recorded attempt(s)"

BROKEN_EVIDENCE = {
    "worker mutates state": [
        Violation(PROCESSED_TWICE, "job-001", AT_ONCE),
        Violation(PROCESSED_TWICE, "job-001", TWICE_FOR_ONE),
        Violation(COMPLETED_CHANGED, "job-002", "completed -> processing accepted (by worker-2)"),
        Violation(FAILED_WITHOUT_ERROR, "job-003", f"a reader saw it half-written: {NO_ERROR}"),
    ],
    "failed with no reason": [
        Violation(FAILED_WITHOUT_ERROR, "job-001", NO_ERROR),
        Violation(FAILED_WITHOUT_ERROR, "job-003", NO_ERROR),
    ],
    "saved before the error": [
        Violation(FAILED_WITHOUT_ERROR, "job-001", NO_ERROR),
        Violation(FAILED_WITHOUT_ERROR, "job-003", NO_ERROR),
    ],
    "missing error read": [
        Violation(
            CRASHED_READING_ERROR,
            "job-002",
            "AttributeError: 'NoneType' object has no attribute 'splitlines'",
        ),
    ],
    "random failures": [
        Violation(OUTCOME_CHANGED, None, "run 1 and run 2 failed different jobs"),
        Violation(OUTCOME_CHANGED, None, "run 1 and run 3 failed different jobs"),
        Violation(OUTCOME_CHANGED, None, "run 2 and run 3 failed different jobs"),
    ],
    "no lock": [
        Violation(PROCESSED_TWICE, job_id, detail)
        for job_id in ("job-001", "job-002", "job-003")
        for detail in (AT_ONCE, TWICE_FOR_ONE)
    ],
    "no retry limit": [
        Violation(TOO_MANY_ATTEMPTS, "job-001", "8 attempts, but max_retries is 3"),
    ],
    "worker retries itself": [
        Violation(PROCESSED_TWICE, "job-001", "handlers ran it 60 times for 3 recorded attempt(s)"),
        Violation(TOO_MANY_ATTEMPTS, "job-001", "handlers ran it 60 times, but max_retries is 3"),
        Violation(RETRY_STORM, "job-001", "20 runs in a row with no sweep between them"),
    ],
}


def shown_text(result: ScenarioResult):
    """Everything a notebook would print about a result, except the per-run statuses of the
    random scenario (which differ on every run, and are documented to)."""
    return [
        (side.side, side.variant, side.evidence, side.defect, side.jobs, side.output)
        for side in result.sides
    ] + [result.scenario, result.mistake, result.notes]


@pytest.fixture(scope="module")
def first_results():
    return {name: scenario() for name, scenario in SCENARIOS.items()}


# --- every scenario, every time -------------------------------------------------------------


def test_every_scenario_has_its_expected_evidence():
    assert list(SCENARIOS) == list(BROKEN_EVIDENCE)


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_broken_side_always_shows_its_defect_and_the_correct_side_never_does(
    name, repetition, first_results
):
    result = SCENARIOS[name]()
    assert list(result.broken.evidence) == BROKEN_EVIDENCE[name]
    assert result.broken.defect
    assert result.correct.evidence == ()
    assert result.correct.defect == ""
    assert shown_text(result) == shown_text(first_results[name])


def test_both_sides_report_the_same_jobs_in_the_same_shape(first_results):
    for result in first_results.values():
        broken_ids = [job.id for job in result.broken.jobs]
        assert broken_ids == [job.id for job in result.correct.jobs]
        assert broken_ids == sorted(broken_ids)


def test_scenario_one_shows_what_each_act_did_to_the_jobs(first_results):
    result = first_results["worker mutates state"]
    broken = [(j.id, j.status, j.attempts, j.last_error) for j in result.broken.jobs]
    correct = [(j.id, j.status, j.attempts, j.last_error) for j in result.correct.jobs]
    assert broken == [
        ("job-001", "completed", 2, None),
        ("job-002", "failed", 2, "SimulatedFailure: duplicate: job-002 was already sent"),
        ("job-003", "failed", 1, EMAIL_FAILS),
    ]
    assert correct == [
        ("job-001", "completed", 1, None),
        ("job-002", "completed", 1, None),
        ("job-003", "failed", 1, EMAIL_FAILS),
    ]


def test_failed_rows_explain_nothing_on_the_broken_side_and_the_real_store_refuses(first_results):
    result = first_results["failed with no reason"]
    assert [j.last_error for j in result.broken.jobs if j.status == "failed"] == [None, None]
    assert [j.last_error for j in result.correct.jobs if j.status == "failed"] == [EMAIL_FAILS] * 2
    assert result.notes == (
        "Sent to InMemoryJobStore, the same report is refused: ValueError: job 'job-001' not "
        "moved to 'failed': a failed job needs a last_error that says why it failed",
        "Its audit log records the refusal (job-001: processing -> failed, refused), and "
        "job-001 is still processing.",
    )


def test_the_store_that_saves_too_early_tells_the_caller_a_different_story(first_results):
    [note] = first_results["saved before the error"].notes
    assert note == (
        "update_status handed back job-001 with last_error 'SMTPError: mailbox full'; "
        "the stored job-001 has last_error None."
    )


def test_the_unchecked_report_stops_at_the_first_job_without_an_error(first_results):
    result = first_results["missing error read"]
    assert result.broken.output == (
        f"job-001: {EMAIL_FAILS}",
        "crashed: AttributeError: 'NoneType' object has no attribute 'splitlines'",
    )
    assert result.correct.output == (
        f"job-001: {EMAIL_FAILS}",
        "job-002: no error",
        f"job-003: {EMAIL_FAILS}",
    )


def test_random_runs_all_differ_and_deterministic_runs_are_identical(first_results):
    result = first_results["random failures"]
    coin, fixed = result.broken.runs, result.correct.runs
    assert len(coin) == len(fixed) == 3
    assert all(len(run) == 64 for run in coin + fixed)
    assert len(set(coin)) == 3
    assert len(set(fixed)) == 1
    assert fixed[0] == tuple("failed" if n % 4 == 0 else "completed" for n in range(64))
    assert result.broken.output == ("3 runs of 64 jobs: 3 different outcome(s)",)
    assert result.correct.output == ("3 runs of 64 jobs: 1 different outcome(s)",)


def test_the_sweeps_show_retries_past_the_limit_and_within_it(first_results):
    result = first_results["no retry limit"]
    assert result.broken.output == (
        "sweep 1: retried nothing",
        *(f"sweep {n}: retried job-001" for n in range(2, 9)),
    )
    assert result.correct.output == (
        "sweep 1: retried nothing",
        "sweep 2: retried job-001",
        "sweep 3: retried job-001",
        *(f"sweep {n}: retried nothing" for n in range(4, 9)),
    )


def test_run_all_runs_every_scenario_in_order_and_threads_never_print(capfd):
    results = run_all()
    assert [r.scenario for r in results] == list(SCENARIOS)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("timeout", [0, -1, "5", True, None])
def test_a_scenario_refuses_a_bad_timeout(timeout):
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0"):
        SCENARIOS["no lock"](timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0"):
        run_all(timeout=timeout)


def test_a_thread_that_never_finishes_raises_instead_of_hanging():
    release = threading.Event()
    try:
        with pytest.raises(TimeoutError, match=r"stuck still running after 0\.05 s"):
            scenarios_module._run_threads({"stuck": lambda: release.wait(10)}, timeout=0.05)
    finally:
        release.set()


def test_an_error_on_a_scenario_thread_is_raised_in_the_caller_not_printed(capfd):
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        scenarios_module._run_threads({"worker-1": fail, "worker-2": lambda: None}, timeout=5)
    assert capfd.readouterr() == ("", "")


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


# --- the broken pool ------------------------------------------------------------------------


def test_the_mutating_pool_runs_jobs_to_the_end_like_the_real_one(capfd):
    handler = simulated_work(fail=fail_by_type("email"))
    with MutatingWorkerPool(workers=3, handler=handler, sweeper_interval=0.001) as pool:
        for n in range(10):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=2)
        assert pool.wait(timeout=30)
    counts = pool.store.counts()
    assert set(counts) == set(JobStatus)
    assert counts[PENDING] == counts[PROCESSING] == 0
    assert counts[COMPLETED] == 6 and counts[FAILED] == 4
    for record in pool.store.list_jobs():
        assert isinstance(record.id, str) and isinstance(record.payload_json(), str)
        assert (record.type == "email") == (record.status is FAILED)
        assert record.max_retries == 2
        assert record.last_error == (EMAIL_FAILS if record.type == "email" else None)
    assert not [t for t in [pool.sweeper, *pool.workers] if t.is_alive()]
    assert capfd.readouterr() == ("", "")


def test_the_mutating_pool_wait_returns_false_on_timeout_and_stop_always_returns():
    release = threading.Event()
    pool = MutatingWorkerPool(workers=1, handler=lambda job: release.wait(10), sweeper_interval=0)
    pool.stop_timeout = 0.05
    pool.start()
    job = pool.submit("report")
    assert wait_for(lambda: job.status is PROCESSING)
    assert pool.wait(timeout=0.01) is False
    pool.stop()
    assert repr(pool) == "<MutatingWorkerPool 1 workers, stopped>"
    release.set()
    assert wait_for(lambda: not pool.workers[0].is_alive())
    assert job.status is COMPLETED


def test_the_mutating_pool_has_the_real_pools_lifecycle():
    pool = MutatingWorkerPool(workers=2)
    assert repr(pool) == "<MutatingWorkerPool 2 workers, not started>"
    pool.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        pool.start()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"workers": 0}, ValueError, "workers must be an int >= 1"),
        ({"workers": True}, ValueError, "workers must be an int >= 1"),
        ({"handler": "nope"}, TypeError, "handler must be callable"),
        ({"sweeper_interval": -1}, ValueError, "sweeper interval must be"),
        ({"queue_capacity": 0}, ValueError, "queue_capacity must be an int >= 1"),
        ({"queue_capacity": 2.5}, ValueError, "queue_capacity must be an int >= 1"),
    ],
)
def test_the_mutating_pool_refuses_bad_settings(options, error, message):
    with pytest.raises(error, match=message):
        MutatingWorkerPool(**options)


def test_the_mutating_pool_refuses_a_bad_job_and_stores_nothing():
    pool = MutatingWorkerPool()
    with pytest.raises(TypeError, match="job type must be a str"):
        pool.submit(None)
    assert len(pool.store) == 0


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
    scenarios_module._run_threads(
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

    scenarios_module._run_threads({"a": claim, "b": claim}, timeout=10)
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
    for rate in (0, 1, -0.5, "half", True):
        with pytest.raises(ValueError, match="rate must be a number between 0 and 1"):
            RandomFailure(rate)
    assert repr(RandomFailure(0.25)) == "RandomFailure(rate=0.25)"


# --- the tables -----------------------------------------------------------------------------


def test_the_summary_has_one_row_per_scenario_and_side_in_order(first_results):
    results = list(first_results.values())
    summary = summary_frame(results)
    assert list(summary.columns) == ["scenario", "side", "problems", "defect"]
    assert list(zip(summary["scenario"], summary["side"])) == [
        (name, side) for name in SCENARIOS for side in ("broken", "correct")
    ]
    assert summary["problems"].dtype == "int64"
    assert list(summary["problems"]) == [
        count
        for name in SCENARIOS
        for count in (len({(v.invariant, v.job_id) for v in BROKEN_EVIDENCE[name]}), 0)
    ]
    assert all(summary["defect"][summary["side"] == "broken"] != "")
    assert set(summary["defect"][summary["side"] == "correct"]) == {""}


def test_the_evidence_table_lists_every_piece_in_order_and_keeps_none(first_results):
    evidence = evidence_frame(list(first_results.values()))
    assert list(evidence.columns) == ["scenario", "side", "invariant", "job_id", "detail"]
    assert set(evidence["side"]) == {"broken"}
    expected = [
        (name, v.invariant, v.job_id, v.detail)
        for name, found in BROKEN_EVIDENCE.items()
        for v in found
    ]
    assert (
        list(
            evidence[["scenario", "invariant", "job_id", "detail"]].itertuples(
                index=False, name=None
            )
        )
        == expected
    )
    assert evidence["job_id"][evidence["scenario"] == "random failures"].tolist() == [None] * 3


def test_the_jobs_table_keeps_none_as_none(first_results):
    jobs = jobs_frame(first_results["failed with no reason"])
    assert list(jobs.columns) == [
        "scenario",
        "side",
        "id",
        "type",
        "status",
        "attempts",
        "max_retries",
        "last_error",
    ]
    assert jobs["last_error"].tolist() == [None, None, None, EMAIL_FAILS, None, EMAIL_FAILS]
    assert jobs["side"].tolist() == ["broken"] * 3 + ["correct"] * 3


def test_the_tables_refuse_what_is_not_a_scenario_result_and_are_empty_for_none():
    for bad in ("no lock", 5, [object()]):
        with pytest.raises(TypeError, match="expected"):
            summary_frame(bad)
    assert list(evidence_frame([]).columns) == list(comparison.EVIDENCE_COLUMNS)
    assert summary_frame([]).empty


def test_the_comparison_chart_draws_the_summary(first_results):
    from jobqueue_lab.views.charts import comparison_chart

    fig = comparison_chart(summary_frame(list(first_results.values())))
    [ax] = fig.axes
    assert [label.get_text() for label in ax.get_xticklabels()] == list(SCENARIOS)


def test_the_comparison_docstring_example_runs():
    result = doctest.testmod(comparison)
    assert result.attempted > 0
    assert result.failed == 0
