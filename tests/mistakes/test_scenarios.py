"""Every scenario shows its defect on the broken side on every run, and the correct pattern,
under the same conditions, never does. Also: the harness that runs them, and their tables."""

import doctest
import threading

import pytest

from jobqueue_lab.checks import (
    COMPLETED_CHANGED,
    FAILED_WITHOUT_ERROR,
    PAST_LEASE,
    PROCESSED_TWICE,
    STALE_RESULT,
    STUCK_IN_PROCESSING,
    TOO_MANY_ATTEMPTS,
    Violation,
)
from jobqueue_lab.mistakes.scenarios import (
    CRASHED_READING_ERROR,
    OUTCOME_CHANGED,
    RETRY_STORM,
    SCENARIOS,
    ScenarioResult,
    run_all,
)
from jobqueue_lab.mistakes.scenarios.harness import Scenario, run_threads
from jobqueue_lab.views import comparison
from jobqueue_lab.views.comparison import evidence_frame, jobs_frame, summary_frame

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
    "no lease": [
        Violation(STUCK_IN_PROCESSING, "job-001", "still processing at the end"),
        Violation(PAST_LEASE, "job-001", "still processing 2 s after its lease ran out"),
    ],
    "no fencing": [
        Violation(
            STALE_RESULT,
            "job-001",
            "processing -> completed accepted from claim 1 (by worker-1)"
            " while claim 2 held the job",
        ),
    ],
    "unconditional update": [
        Violation(PROCESSED_TWICE, "job-001", "process-1 and process-2 ran it at the same time"),
        Violation(PROCESSED_TWICE, "job-001", TWICE_FOR_ONE),
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


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        (0, ValueError, "timeout must be a number from 0.001 to 3600.0, got 0"),
        (-1, ValueError, "timeout must be a number from"),
        (float("inf"), ValueError, "timeout must be a number from"),
        ("5", TypeError, "timeout must be a number, got str"),
        (True, TypeError, "timeout must be a number, got bool"),
        (None, TypeError, "timeout must be a number, got NoneType"),
    ],
)
def test_a_scenario_refuses_a_bad_timeout(timeout, error, message):
    with pytest.raises(error, match=message):
        SCENARIOS["no lock"](timeout=timeout)
    with pytest.raises(error, match=message):
        run_all(timeout=timeout)


def test_each_scenario_is_registered_once_under_the_name_its_result_carries(first_results):
    for name, scenario in SCENARIOS.items():
        assert isinstance(scenario, Scenario)
        assert scenario.name == name == first_results[name].scenario
        assert first_results[name].mistake == scenario.mistake


def test_a_thread_that_never_finishes_raises_instead_of_hanging():
    release = threading.Event()
    try:
        with pytest.raises(TimeoutError, match=r"stuck still running after 0\.05 s"):
            run_threads({"stuck": lambda: release.wait(10)}, timeout=0.05)
    finally:
        release.set()


def test_an_error_on_a_scenario_thread_is_raised_in_the_caller_not_printed(capfd):
    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_threads({"worker-1": fail, "worker-2": lambda: None}, timeout=5)
    assert capfd.readouterr() == ("", "")


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


# --- the lost-worker mistakes ---------------------------------------------------------------


def test_without_a_lease_a_healthy_worker_finds_nothing_to_claim(first_results):
    result = first_results["no lease"]
    assert result.broken.output[-1] == "worker-2 found nothing to claim: the job is still held"
    assert [job.status for job in result.broken.jobs] == ["processing"]
    assert result.correct.output[1] == "32 s later a sweep recovered job-001"
    assert [job.status for job in result.correct.jobs] == ["completed"]


def test_without_fencing_the_zombies_report_wins_and_with_it_the_retry_does(first_results):
    result = first_results["no fencing"]
    assert [job.status for job in result.broken.jobs] == ["completed"]
    assert [job.status for job in result.correct.jobs] == ["failed"]
    assert result.correct.jobs[0].last_error == "SimulatedFailure: card declined"
    assert "the job is now processing" in result.correct.output[1], "the late report was refused"


def test_the_variants_differ_from_the_real_store_in_one_method_each():
    from jobqueue_lab import InMemoryJobStore
    from jobqueue_lab.mistakes.broken import NoLeaseStore, UnfencedStore

    plumbing = {"__module__", "__doc__", "__qualname__", "__abstractmethods__", "_abc_impl"}
    assert set(vars(NoLeaseStore)) - plumbing == {"recover_expired_leases"}
    assert set(vars(UnfencedStore)) - plumbing == {"update_status"}
    assert issubclass(NoLeaseStore, InMemoryJobStore)
    assert issubclass(UnfencedStore, InMemoryJobStore)
