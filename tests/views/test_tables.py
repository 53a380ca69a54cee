import re
import subprocess
import sys

import pandas as pd
import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    JobNotFound,
    JobStatus,
    ManualClock,
    StaleClaim,
    WorkerPool,
    constant,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.views.tables import (
    FAILED_ROW_COLOUR,
    attempts_per_job,
    attempts_table,
    dead_letter_table,
    failed_jobs_table,
    job_history,
    jobs_table,
    keeps_audit_log,
    leases_table,
    status_counts_over_time,
    styled_jobs_table,
    summary_table,
    transition_counts,
    transitions_table,
)

EMAIL_ERROR = "SimulatedFailure: email jobs always fail in this simulation"


def email_run(workers=2):
    """Six jobs, every third an email that always fails; two attempts each."""
    handler = simulated_work(fail=fail_by_type("email"))
    with WorkerPool(workers=workers, handler=handler, sweeper_interval=0.001) as pool:
        for n in range(6):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=2)
        assert pool.wait(timeout=30)
    return pool.store


@pytest.fixture(scope="module")
def store():
    return email_run()


def hand_driven_store():
    """A store moved by hand, so every entry of its audit log is known in advance."""
    store = InMemoryJobStore()
    a = store.create_job("email", {"to": "ada@example.org"}, max_retries=2, actor="notebook")
    store.claim_job(a.id, actor="worker-1")
    store.update_status(a.id, "failed", "SimulatedFailure: boom", actor="worker-1")
    store.retry_failed_jobs(actor="sweeper")
    store.claim_job(a.id, actor="worker-2")
    store.update_status(a.id, "completed", actor="worker-2")
    b = store.create_job("report", max_retries=3, actor="notebook")
    store.claim_job(b.id, actor="worker-1")
    assert store.claim_job(a.id, actor="worker-3") is None
    return store


def test_jobs_table_has_one_row_per_job_in_creation_order(store):
    table = jobs_table(store)
    assert list(table.columns) == ["id", "type", "status", "attempts", "max_retries", "last_error"]
    assert table.to_dict("records") == [
        {
            "id": f"job-00{n + 1}",
            "type": "email" if n % 3 == 0 else "report",
            "status": "failed" if n % 3 == 0 else "completed",
            "attempts": 2 if n % 3 == 0 else 1,
            "max_retries": 2,
            "last_error": EMAIL_ERROR if n % 3 == 0 else None,
        }
        for n in range(6)
    ]


def test_jobs_table_keeps_statuses_as_plain_strings_and_no_error_as_none(store):
    table = jobs_table(store)
    assert all(type(status) is str for status in table["status"])
    assert table.loc[1, "last_error"] is None


def test_jobs_table_accepts_a_list_of_jobs(store):
    table = jobs_table(store.get_failed_jobs())
    assert list(table["id"]) == ["job-001", "job-004"]


@pytest.mark.parametrize("bad", [42, "job-001", None])
def test_jobs_table_refuses_what_is_neither_a_store_nor_jobs(bad):
    with pytest.raises(TypeError, match="expected a job store or a list of jobs"):
        jobs_table(bad)


def test_an_empty_store_gives_empty_tables_with_their_columns():
    store = InMemoryJobStore()
    assert list(jobs_table(store).columns)[:3] == ["id", "type", "status"]
    assert len(jobs_table(store)) == 0
    assert len(transitions_table(store)) == 0
    assert len(attempts_table(store)) == 0
    assert summary_table(store).loc["jobs", "value"] == 0


def failed_rows_in_css(html):
    """Row numbers whose cells the styler's CSS gives the failed-row background."""
    style = html.split("</style>")[0]
    rows = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", style):
        if FAILED_ROW_COLOUR in body:
            rows |= {int(n) for n in re.findall(r"_row(\d+)_col\d+", selectors)}
    return rows


def test_styled_jobs_table_shades_exactly_the_failed_rows(store):
    styler = styled_jobs_table(store)
    failed = {i for i, status in enumerate(jobs_table(store)["status"]) if status == "failed"}
    assert failed == {0, 3}
    assert failed_rows_in_css(styler.to_html()) == failed
    pd.testing.assert_frame_equal(styler.data, jobs_table(store))


def test_styled_jobs_table_renders_the_same_html_on_every_run():
    first, second = email_run(workers=1), email_run(workers=1)
    assert styled_jobs_table(first).to_html() == styled_jobs_table(second).to_html()


def test_styled_jobs_table_prints_without_a_memory_address(store):
    text = repr(styled_jobs_table(store))
    assert text == "<styled table: 6 rows x 6 columns>"
    assert "0x" not in text


def test_two_different_styled_tables_do_not_share_css_ids(store):
    whole = styled_jobs_table(store).to_html()
    failed_only = styled_jobs_table(store.get_failed_jobs()).to_html()
    table_id = re.compile(r'<table id="([^"]+)"')
    assert table_id.search(whole)[1] != table_id.search(failed_only)[1]


def test_failed_jobs_table_lists_failures_with_their_reason(store):
    table = failed_jobs_table(store)
    assert list(table.columns) == [
        "id",
        "type",
        "attempts",
        "max_retries",
        "last_error",
        "will_retry",
    ]
    assert table.to_dict("records") == [
        {
            "id": job_id,
            "type": "email",
            "attempts": 2,
            "max_retries": 2,
            "last_error": EMAIL_ERROR,
            "will_retry": False,
        }
        for job_id in ("job-001", "job-004")
    ]


def test_failed_jobs_table_says_when_the_sweeper_will_try_again():
    store = InMemoryJobStore()
    job = store.create_job("email", max_retries=3)
    store.claim_job(job.id)
    store.update_status(job.id, "failed", "boom")
    assert failed_jobs_table(store)["will_retry"].tolist() == [True]


def test_transitions_table_is_the_audit_log_in_order():
    table = transitions_table(hand_driven_store())
    assert list(table.columns) == ["step", "job_id", "from", "to", "accepted", "actor", "detail"]
    assert [tuple(row) for row in table.itertuples(index=False)] == [
        (0, "job-001", None, "pending", True, "notebook", None),
        (1, "job-001", "pending", "processing", True, "worker-1", None),
        (2, "job-001", "processing", "failed", True, "worker-1", "SimulatedFailure: boom"),
        (3, "job-001", "failed", "pending", True, "sweeper", None),
        (4, "job-001", "pending", "processing", True, "worker-2", None),
        (5, "job-001", "processing", "completed", True, "worker-2", None),
        (6, "job-002", None, "pending", True, "notebook", None),
        (7, "job-002", "pending", "processing", True, "worker-1", None),
        (
            8,
            "job-001",
            "completed",
            "processing",
            False,
            "worker-3",
            "job is completed, not pending",
        ),
    ]


def test_transitions_table_filters_keep_the_position_in_the_whole_log():
    store = hand_driven_store()
    assert transitions_table(store, job_id="job-002")["step"].tolist() == [6, 7]
    refused = transitions_table(store, refused_only=True)
    assert refused["step"].tolist() == [8]
    assert refused["accepted"].tolist() == [False]


def test_transitions_table_shows_times_only_when_asked(store):
    assert "at_ms" not in transitions_table(store).columns
    timed = transitions_table(store, times=True)
    assert list(timed.columns)[-1] == "at_ms"
    assert timed["at_ms"].is_monotonic_increasing
    assert (timed["at_ms"] >= 0).all()


def test_transitions_table_refuses_an_unknown_job(store):
    with pytest.raises(JobNotFound, match="job-999"):
        transitions_table(store, job_id="job-999")


def test_attempts_table_pairs_each_claim_with_its_outcome():
    table = attempts_table(hand_driven_store())
    assert [tuple(row) for row in table.itertuples(index=False)] == [
        ("job-001", 1, "worker-1", "failed", "SimulatedFailure: boom"),
        ("job-001", 2, "worker-2", "completed", None),
        ("job-002", 1, "worker-1", "in progress", None),
    ]


def test_attempts_table_times_leave_an_unfinished_attempt_open():
    table = attempts_table(hand_driven_store(), times=True)
    assert list(table.columns)[-2:] == ["started_ms", "finished_ms"]
    assert table["finished_ms"].tolist()[2] is None
    done = table.iloc[:2]
    assert (done["finished_ms"] >= done["started_ms"]).all()


def test_job_history_has_one_row_per_attempt(store):
    history = job_history(store, "job-001")
    assert list(history.columns) == ["attempt", "worker", "outcome", "error"]
    assert history["attempt"].tolist() == [1, 2]
    assert history["outcome"].tolist() == ["failed", "failed"]
    assert history["error"].tolist() == [EMAIL_ERROR, EMAIL_ERROR]
    assert all(worker.startswith("worker-") for worker in history["worker"])
    assert job_history(store, "job-002")[["attempt", "outcome", "error"]].to_dict("records") == [
        {"attempt": 1, "outcome": "completed", "error": None}
    ]


def test_job_history_with_times_adds_durations(store):
    history = job_history(store, "job-004", times=True)
    assert list(history.columns) == [
        "attempt",
        "worker",
        "outcome",
        "error",
        "started_ms",
        "finished_ms",
    ]
    assert history["started_ms"].iloc[1] >= history["finished_ms"].iloc[0]


def test_job_history_refuses_an_unknown_job(store):
    with pytest.raises(JobNotFound):
        job_history(store, "nope")


def test_summary_table_counts_the_run(store):
    summary = summary_table(store)
    assert summary.index.name == "measure"
    assert summary["value"].to_dict() == {
        "jobs": 6,
        "pending": 0,
        "processing": 0,
        "completed": 4,
        "failed": 2,
        "attempts": 8,
        "retries": 2,
        "permanent failures": 2,
        "refused changes": 0,
    }


def test_summary_table_counts_refusals_and_unfinished_work():
    summary = summary_table(hand_driven_store())["value"]
    assert summary["retries"] == 1
    assert summary["processing"] == 1
    assert summary["permanent failures"] == 0
    assert summary["refused changes"] == 1


def test_attempts_per_job(store):
    table = attempts_per_job(store)
    assert table.to_dict("list") == {
        "id": [f"job-00{n}" for n in range(1, 7)],
        "attempts": [2, 1, 1, 2, 1, 1],
        "retries": [1, 0, 0, 1, 0, 0],
        "status": ["failed", "completed", "completed", "failed", "completed", "completed"],
    }


def test_status_counts_over_time_replays_the_log_to_the_final_counts(store):
    history = status_counts_over_time(store)
    statuses = [status.value for status in JobStatus]
    assert list(history.columns) == ["step", *statuses]
    accepted = [t for t in store.transitions() if t.accepted]
    assert len(history) == len(accepted)
    final = history.iloc[-1]
    assert {s: final[s] for s in statuses} == {s.value: n for s, n in store.counts().items()}
    created_so_far = [
        sum(t.from_status is None for t in accepted[: i + 1]) for i in range(len(accepted))
    ]
    assert history[statuses].sum(axis=1).tolist() == created_so_far


def test_transition_counts_separates_accepted_from_refused():
    counts = transition_counts(hand_driven_store())
    assert [tuple(row) for row in counts.itertuples(index=False)] == [
        (None, "pending", 2, 0),
        ("pending", "processing", 3, 0),
        ("processing", "completed", 1, 0),
        ("processing", "failed", 1, 0),
        ("completed", "processing", 0, 1),
        ("failed", "pending", 1, 0),
    ]


def test_the_same_scenario_gives_the_same_tables():
    first, second = email_run(workers=1), email_run(workers=1)
    for table in (jobs_table, failed_jobs_table, summary_table, attempts_per_job):
        pd.testing.assert_frame_equal(table(first), table(second))
    for job in first.list_jobs():
        pd.testing.assert_frame_equal(job_history(first, job.id), job_history(second, job.id))


def test_importing_the_core_package_loads_no_presentation_library():
    code = (
        "import sys, jobqueue_lab\n"
        "loaded = [m for m in ('pandas', 'matplotlib', 'ipywidgets') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


class StoreWithoutLog:
    """Like the broken variants' stores: jobs to list, but no audit log."""

    def __init__(self, jobs):
        self._jobs = jobs

    def list_jobs(self):
        return list(self._jobs)


def test_a_store_without_an_audit_log_still_gives_its_job_tables(store):
    no_log = StoreWithoutLog(store.list_jobs())
    pd.testing.assert_frame_equal(jobs_table(no_log), jobs_table(store))
    pd.testing.assert_frame_equal(failed_jobs_table(no_log), failed_jobs_table(store))
    assert list(summary_table(no_log).index) == [
        "jobs",
        "pending",
        "processing",
        "completed",
        "failed",
        "attempts",
        "permanent failures",
    ]


@pytest.mark.parametrize(
    "table", [transitions_table, attempts_table, attempts_per_job, transition_counts]
)
def test_history_tables_refuse_a_store_without_an_audit_log_clearly(store, table):
    with pytest.raises(TypeError, match="StoreWithoutLog keeps no audit log"):
        table(StoreWithoutLog(store.list_jobs()))


def test_keeps_audit_log_tells_the_real_store_from_one_without_a_log(store):
    assert keeps_audit_log(store)
    assert not keeps_audit_log(StoreWithoutLog(store.list_jobs()))


LONG_ERROR = (
    "SimulatedFailure: temporary failure on attempt 2 of 3, while the remote service "
    "was busy answering somebody else"
)


@pytest.mark.parametrize(
    "table", [jobs_table, failed_jobs_table, transitions_table, attempts_table]
)
def test_tables_show_error_text_in_full(table):
    store = InMemoryJobStore()
    job = store.claim_job(store.create_job("sync", max_retries=3).id)
    store.update_status(job.id, "failed", LONG_ERROR)
    shown = table(store)
    assert LONG_ERROR in shown.to_html()
    # 20 columns is what pandas shows in a notebook; in a terminal it fits the window instead.
    with pd.option_context("display.max_columns", 20):
        assert LONG_ERROR in repr(shown)


# --- claims, leases and dead letters (notebook 09) ---------------------------------------------


def lost_worker_store():
    """A store moved by hand on a manual clock: worker-1 is lost on job-001, its lease runs
    out, the sweeper recovers it, worker-2 completes it, and worker-1's late report is refused.
    job-002 fails for good at once (permanent); job-003 runs out of attempts; job-004 is released.
    """
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=30, backoff=constant(5))
    lost, bad, flaky, stopped = (
        store.create_job(t, max_retries=2, actor="notebook") for t in "abcd"
    )
    store.claim_job(lost.id, actor="worker-1")
    for _ in range(2):
        store.claim_job(flaky.id, actor="worker-3")
        store.update_status(flaky.id, "failed", "timeout", claim=store.get_job(flaky.id).claim)
        clock.advance(5)
        store.retry_failed_jobs(actor="sweeper")
    store.claim_job(bad.id, actor="worker-3")
    store.update_status(bad.id, "failed", "PermanentFailure: no such card", claim=1, permanent=True)
    store.claim_job(stopped.id, actor="worker-4")
    store.release_job(stopped.id, claim=1, actor="worker-4")
    clock.advance(25)
    assert store.recover_expired_leases(actor="sweeper")[0].id == lost.id
    clock.advance(5)
    store.retry_failed_jobs(actor="sweeper")
    store.claim_job(lost.id, actor="worker-2")
    with pytest.raises(StaleClaim):
        store.update_status(lost.id, "completed", claim=1, actor="worker-1")
    store.update_status(lost.id, "completed", claim=2, actor="worker-2")
    return store


def test_transitions_table_shows_each_change_s_claim_when_asked():
    store = lost_worker_store()
    assert "claim" not in transitions_table(store).columns
    table = transitions_table(store, job_id="job-001", claims=True)
    assert list(table.columns) == [
        "step",
        "job_id",
        "from",
        "to",
        "accepted",
        "actor",
        "claim",
        "detail",
    ]
    assert table["claim"].tolist() == [None, 1, 1, None, 2, 1, 2]
    refused = table[~table["accepted"]].iloc[0]
    assert (refused["actor"], refused["claim"]) == ("worker-1", 1)
    assert refused["detail"].startswith("claim 1 reported completed after losing the job")


def test_dead_letter_table_lists_exactly_the_dead_jobs_and_why():
    store = lost_worker_store()
    table = dead_letter_table(store)
    assert list(table.columns) == ["id", "type", "attempts", "max_retries", "why", "last_error"]
    assert (
        table["id"].tolist()
        == [job.id for job in store.get_dead_jobs()]
        == [
            "job-002",
            "job-003",
        ]
    )
    assert table[["why", "attempts", "last_error"]].to_dict("records") == [
        {"why": "permanent", "attempts": 1, "last_error": "PermanentFailure: no such card"},
        {"why": "out of attempts", "attempts": 2, "last_error": "timeout"},
    ]


def test_dead_letter_table_forgets_a_requeued_job():
    store = lost_worker_store()
    store.requeue("job-003", actor="operator")
    assert dead_letter_table(store)["id"].tolist() == ["job-002"]
    assert len(dead_letter_table(InMemoryJobStore())) == 0


def test_a_permanent_failure_is_never_counted_as_one_that_will_retry():
    store = lost_worker_store()
    permanent = failed_jobs_table(store).set_index("id").loc["job-002"]
    assert permanent["attempts"] < permanent["max_retries"]
    assert not permanent["will_retry"]
    assert summary_table(store).loc["permanent failures", "value"] == 2


def test_leases_table_shows_who_holds_each_job_and_until_when():
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=30, backoff=constant(7))
    held, failed = (store.create_job("t").id for _ in range(2))
    store.claim_job(held, actor="worker-1")
    clock.advance(20)
    store.renew_lease(held, 1)
    store.claim_job(failed, actor="worker-2")
    store.update_status(failed, "failed", "boom", claim=1)
    table = leases_table(store)
    assert list(table.columns) == [
        "id",
        "status",
        "attempts",
        "claim",
        "claimed_by",
        "lease_expires_at",
        "retry_at",
        "last_error",
    ]
    assert [tuple(row) for row in table.itertuples(index=False)] == [
        ("job-001", "processing", 1, 1, "worker-1", 50.0, None, None),
        ("job-002", "failed", 1, 1, "worker-2", None, 27.0, "boom"),
    ]


def test_attempts_table_ends_a_released_attempt_as_released_and_a_recovered_one_as_failed():
    rows = attempts_table(lost_worker_store())
    outcomes = {(r.job_id, r.attempt): (r.outcome, r.error) for r in rows.itertuples()}
    assert outcomes[("job-004", 1)] == ("released", None)
    assert outcomes[("job-001", 1)] == (
        "failed",
        "lease expired after 30.0 s: worker-1 lost or stuck on attempt 1",
    )
    assert outcomes[("job-001", 2)] == ("completed", None)
