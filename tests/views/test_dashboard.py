import matplotlib

matplotlib.use("Agg")

import re
import threading

import ipywidgets as widgets
import pytest

from jobqueue_lab import InMemoryJobStore, JobStatus, ManualClock, StaleClaim
from jobqueue_lab import lost_worker as lost_worker_module
from jobqueue_lab.checks import find_violations
from jobqueue_lab.lost_worker import (
    LOST_JOB,
    LOST_LEASE_SECONDS,
    LosesItsWorker,
    lost_worker_story,
)
from jobqueue_lab.views import dashboard as dashboard_module
from jobqueue_lab.views.dashboard import (
    BROKEN_WORKER,
    CORRECT_WORKER,
    DAMAGE_COLOUR,
    FAILURE_POLICIES,
    STOPPED_BY_BUTTON,
    STOPPED_BY_NEW_DASHBOARD,
    Dashboard,
    job_mix,
)
from jobqueue_lab.views.run_results import LOST_WORKER_NEEDS_LEASES, lost_worker_outputs
from jobqueue_lab.views.tables import FAILED_ROW_COLOUR
from tests.support import wait_for

STATUSES = [status.value for status in JobStatus]


def quick(dash, *, jobs=8, policy='fail by type "email"', seconds=0.0, **settings):
    """Set the controls for a short run: no pause in the handler, a fast sweeper."""
    dash.jobs.value = jobs
    dash.failure_policy.value = policy
    dash.handler_seconds.value = seconds
    dash.sweeper_interval.value = 0.01
    dash.email_share.value = settings.pop("email_share", 0.25)
    dash.max_retries.value = settings.pop("max_retries", 2)
    dash.workers.value = settings.pop("workers", 3)
    assert not settings, f"unknown settings {settings}"
    return dash


def completed_at_least(store, n):
    return lambda: store.counts()[JobStatus.COMPLETED] >= n


def shown_counts(dash):
    return {
        status: int(dash.counts.value.split(f"{status}: ")[1].split("<")[0]) for status in STATUSES
    }


def test_every_control_is_there_with_a_clear_description():
    dash = Dashboard()
    descriptions = {
        dash.workers: "Workers",
        dash.jobs: "Jobs",
        dash.email_share: "Email share",
        dash.failure_policy: "Failure policy",
        dash.max_retries: "Max retries",
        dash.sweeper_interval: "Sweeper interval",
        dash.handler_seconds: "Handler seconds",
        dash.worker: "Worker",
        dash.run_button: "Run",
        dash.stop_button: "Stop",
    }
    assert {widget.description for widget in descriptions} == set(descriptions.values())
    assert (dash.workers.min, dash.workers.max) == (1, 8)
    assert list(dash.failure_policy.options) == list(FAILURE_POLICIES)
    assert list(dash.worker.options) == [CORRECT_WORKER, BROKEN_WORKER]
    assert isinstance(dash.counts, widgets.HTML)
    assert "jql-counts" in dash.counts._dom_classes
    assert "jql-state" in dash.state._dom_classes
    assert dash.state.value == "ready"
    assert shown_counts(dash) == dict.fromkeys(STATUSES, 0)
    assert dash.stop_button.disabled and not dash.run_button.disabled


def test_the_dashboard_displays_its_widget_with_a_stable_text_form():
    dash = Dashboard()
    bundle = dash._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == dash.widget.model_id
    assert bundle["text/plain"] == "<Dashboard: ready>"


def test_clicking_run_runs_the_scenario_and_shows_the_result():
    dash = quick(Dashboard(), jobs=12)
    dash.run_button.click()
    assert dash.wait(timeout=20)
    assert dash.state.value == "finished"
    final = {status.value: n for status, n in dash.store.counts().items()}
    assert final == {"pending": 0, "processing": 0, "completed": 9, "failed": 3}
    assert shown_counts(dash) == final
    assert (dash.progress.value, dash.progress.max) == (12, 12)
    table, chart = dash.output.outputs
    assert "job-012" in table["data"]["text/html"]
    assert table["data"]["text/html"].count(">failed<") == 3
    assert FAILED_ROW_COLOUR in table["data"]["text/html"]
    assert chart["data"]["image/png"]
    assert not dash.run_button.disabled and dash.stop_button.disabled


def test_a_run_submits_the_job_mix_the_controls_describe():
    dash = quick(Dashboard(), jobs=10, email_share=0.3, policy="none")
    dash.run()
    assert dash.wait(timeout=20)
    jobs = dash.store.list_jobs()
    assert [(job.type, dict(job.payload)) for job in jobs] == job_mix(10, 0.3)
    assert {job.max_retries for job in jobs} == {2}


@pytest.mark.parametrize(
    ("policy", "completed", "failed", "attempts"),
    [
        ("none", 8, 0, 8),
        ('fail by type "email"', 6, 2, 10),
        ("every attempt", 0, 8, 16),
        ('payload contains "error"', 6, 2, 10),
        ("transient until attempt 2", 8, 0, 16),
    ],
)
def test_each_failure_policy_gives_its_own_outcome(policy, completed, failed, attempts):
    dash = quick(Dashboard(), jobs=8, policy=policy)
    dash.run()
    assert dash.wait(timeout=20)
    assert dash.state.value == "finished"
    assert shown_counts(dash) == {
        "pending": 0,
        "processing": 0,
        "completed": completed,
        "failed": failed,
    }
    assert sum(job.attempts for job in dash.store.list_jobs()) == attempts


def test_the_counts_update_while_the_run_is_going():
    dash = quick(Dashboard(refresh_seconds=0.02), jobs=3, seconds=0.2, workers=1, policy="none")
    dash.run()
    try:
        assert wait_for(lambda: "completed: 1<" in dash.counts.value, timeout=10)
        assert dash.state.value == "running"
        assert dash.run_button.disabled and not dash.stop_button.disabled
    finally:
        dash.stop()
        assert dash.wait(timeout=10)


def test_stop_ends_a_long_run_cleanly():
    dash = quick(Dashboard(), jobs=6, seconds=30.0, workers=2, policy="none")
    dash.run_button.click()
    assert wait_for(lambda: dash.store.counts()[JobStatus.PROCESSING] == 2, timeout=10)
    dash.stop_button.click()
    assert dash.wait(timeout=10)
    assert dash.state.value == "stopped"
    assert dash.store.get_processing_jobs() == []
    assert dash.store.get_failed_jobs() == [], "work cut short by Stop is released, not failed"
    assert shown_counts(dash) == {"pending": 6, "processing": 0, "completed": 0, "failed": 0}
    assert not dash.run_button.disabled and dash.stop_button.disabled
    message, table, _chart = dash.output.outputs
    assert message["text"] == STOPPED_BY_BUTTON + "\n"
    assert table["data"]["text/plain"].count("pending") == 6
    releases = [t for t in dash.store.transitions() if t.from_status is JobStatus.PROCESSING]
    assert [t.to_status for t in releases] == [JobStatus.PENDING] * 2


def test_the_default_run_lasts_long_enough_to_watch():
    """Worked out from the settings, not timed: the attempts the default run makes (emails
    fail every attempt by default), at the default handler time, shared by the workers, and
    the sweeps a failed email waits for before its last attempt."""
    settings = Dashboard().settings()
    assert settings.failure_policy == 'fail by type "email"'
    emails = [t for t, _ in job_mix(settings.jobs, settings.email_share)].count("email")
    attempts = settings.jobs - emails + emails * settings.max_retries
    working = attempts * settings.handler_seconds / settings.workers
    waiting = (settings.max_retries - 1) * settings.sweeper_interval
    assert working + waiting >= 3, "the default run would be over before it can be watched"


def test_a_run_that_does_not_settle_in_time_is_stopped_and_says_so():
    dash = quick(Dashboard(time_limit=0.2), jobs=2, seconds=30.0, workers=1, policy="none")
    dash.run()
    assert dash.wait(timeout=10)
    assert dash.state.value == "stopped"
    assert dash.store.get_processing_jobs() == []
    message = dash.output.outputs[0]
    assert message["text"].startswith("Stopped by the time limit: the run had not settled after")
    assert "0.2 seconds" in message["text"]


def test_showing_a_new_dashboard_stops_the_run_of_the_one_shown_before():
    """Re-running the dashboard's cell shows a new one; the old run must not go on unseen."""
    old = quick(Dashboard(), jobs=4, seconds=30.0, workers=2, policy="none")
    old._repr_mimebundle_()
    old.run()
    assert wait_for(lambda: old.store.counts()[JobStatus.PROCESSING] == 2, timeout=10)
    Dashboard()._repr_mimebundle_()
    assert old.wait(timeout=10)
    assert old.state.value == "stopped"
    assert old.output.outputs[0]["text"] == STOPPED_BY_NEW_DASHBOARD + "\n"
    assert old.store.get_processing_jobs() == []


def test_showing_the_same_dashboard_again_leaves_its_run_alone():
    dash = quick(Dashboard(), jobs=2, seconds=30.0, workers=2, policy="none")
    dash._repr_mimebundle_()
    dash.run()
    try:
        dash._repr_mimebundle_()
        assert not dash.wait(timeout=0.2)
        assert dash.state.value == "running"
    finally:
        dash.stop()
        assert dash.wait(timeout=10)


def test_run_does_nothing_while_a_run_is_going():
    dash = quick(Dashboard(), jobs=2, seconds=30.0, workers=2, policy="none")
    dash.run()
    first = dash.store
    try:
        dash.run_button.click()
        dash.run()
        assert dash.store is first
    finally:
        dash.stop()
        assert dash.wait(timeout=10)


def test_a_second_run_starts_from_a_fresh_store():
    dash = quick(Dashboard(), jobs=4, policy="none")
    dash.run()
    assert dash.wait(timeout=20)
    first = dash.store
    dash.jobs.value = 5
    dash.run()
    assert dash.wait(timeout=20)
    assert dash.store is not first
    assert len(dash.store) == 5
    assert dash.state.value == "finished"


def test_wait_before_any_run_returns_at_once():
    assert Dashboard().wait(timeout=0) is True


def test_the_run_thread_never_prints(capfd):
    dash = quick(Dashboard(refresh_seconds=0.01), jobs=12)
    dash.run()
    assert dash.wait(timeout=20)
    assert capfd.readouterr() == ("", "")


def test_a_failure_while_showing_results_is_shown_in_the_output_not_printed(monkeypatch, capfd):
    def broken_results(store):
        raise RuntimeError("cannot draw")

    monkeypatch.setattr(dashboard_module, "run_results", broken_results)
    dash = quick(Dashboard(), jobs=2)
    dash.run()
    assert dash.wait(timeout=20)
    [message] = dash.output.outputs
    assert message["text"] == "The run failed: RuntimeError: cannot draw\n"
    assert dash.state.value in ("finished", "stopped")
    assert not dash.run_button.disabled
    assert capfd.readouterr() == ("", "")


def test_job_mix_spreads_emails_evenly_and_is_the_same_every_time():
    mix = job_mix(20, 0.25)
    assert mix == job_mix(20, 0.25)
    types = [job_type for job_type, _ in mix]
    assert types.count("email") == 5
    assert [i for i, t in enumerate(types) if t == "email"] == [3, 7, 11, 15, 19]
    assert ["error" in str(payload) for _, payload in mix[:4]] == [False, False, False, True]
    assert [t for t, _ in job_mix(3, 0)] == ["report"] * 3
    assert [t for t, _ in job_mix(3, 1)] == ["email"] * 3


@pytest.mark.parametrize(
    ("count", "share", "error"),
    [(-1, 0.5, ValueError), (2.5, 0.5, TypeError), (3, 1.5, ValueError), (3, "half", TypeError)],
)
def test_job_mix_refuses_bad_numbers(count, share, error):
    with pytest.raises(error, match="must be"):
        job_mix(count, share)


@pytest.mark.parametrize("option", ["refresh_seconds", "time_limit"])
@pytest.mark.parametrize(
    ("bad", "error"), [(0, ValueError), (-1, ValueError), ("fast", TypeError), (True, TypeError)]
)
def test_the_dashboard_refuses_bad_timing(option, bad, error):
    with pytest.raises(error, match=option):
        Dashboard(**{option: bad})


@pytest.mark.stress
@pytest.mark.parametrize("after_completed", [0, 1, 5, 20])
def test_stop_at_any_moment_never_leaves_a_job_processing(after_completed):
    for _ in range(5):
        dash = quick(Dashboard(refresh_seconds=0.01), jobs=40, seconds=0.002, workers=4)
        dash.run()
        assert wait_for(completed_at_least(dash.store, after_completed))
        dash.stop()
        assert dash.wait(timeout=10)
        assert dash.state.value in ("stopped", "finished")
        assert dash.store.get_processing_jobs() == []
        final = {status.value: n for status, n in dash.store.counts().items()}
        assert shown_counts(dash) == final
        assert dash.progress.value <= dash.progress.max == 40


def test_the_broken_worker_runs_the_mutating_pool_and_says_it_has_no_history():
    broken = pytest.importorskip("jobqueue_lab.mistakes.broken")
    dash = quick(Dashboard(), jobs=8, workers=2)
    dash.worker.value = BROKEN_WORKER
    dash.run_button.click()
    assert dash.wait(timeout=20)
    assert isinstance(dash.store, broken.LiveRecordStore)
    assert dash.state.value == "finished"
    final = {status.value: n for status, n in dash.store.counts().items()}
    assert final == {"pending": 0, "processing": 0, "completed": 6, "failed": 2}
    assert shown_counts(dash) == final
    table, note = dash.output.outputs
    assert "job-008" in table["data"]["text/html"]
    assert note["text"].startswith("No chart: this store keeps no audit log.")


def broken_run(dash):
    """Run the broken worker with the controls as set; its outputs: the table and the text."""
    dash.worker.value = BROKEN_WORKER
    dash.run()
    assert dash.wait(timeout=30)
    table, note = dash.output.outputs
    return table, note["text"]


def test_the_broken_worker_s_damage_shows_beside_the_counts_in_a_warning_colour():
    dash = quick(Dashboard(), jobs=8, workers=3)
    _, text = broken_run(dash)
    shown = dash.counts.value.split('class="jql-damage"')[1]
    runs, recorded, broken = (int(n) for n in re.findall(r": (\d+)", shown))
    assert recorded == sum(record.attempts for record in dash.store.list_jobs())
    assert f"{runs} runs, for {recorded} attempts" in text
    assert broken >= 1 and f"Rules broken ({broken})" in text, "the race the pool forces"
    assert DAMAGE_COLOUR in shown


def test_a_correct_run_shows_no_damage_counter():
    dash = quick(Dashboard(), jobs=4, workers=2)
    dash.run()
    assert dash.wait(timeout=30)
    assert "jql-damage" not in dash.counts.value


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_the_broken_worker_shows_a_double_run_on_every_run(repetition):
    dash = quick(Dashboard(), jobs=8 + repetition, workers=2 + repetition % 7)
    table, text = broken_run(dash)
    assert dash.state.value == "finished"
    [double] = [line for line in text.splitlines() if "job processed twice" in line]
    assert double.endswith("ran it at the same time")
    job_id = double.split(":")[0].strip()
    assert job_id in table["data"]["text/html"]


def test_the_broken_worker_sets_the_runs_the_handlers_saw_against_the_attempts_recorded():
    dash = quick(Dashboard(), jobs=8, workers=3)
    _, text = broken_run(dash)
    attempts = sum(record.attempts for record in dash.store.list_jobs())
    runs_line = next(line for line in text.splitlines() if line.startswith("What the handlers"))
    assert runs_line.endswith(f"runs, for {attempts} attempts in the store's records.")
    assert "Rules broken (" in text


def test_the_broken_worker_races_even_when_one_worker_is_chosen():
    dash = quick(Dashboard(), jobs=4, workers=1)
    _, text = broken_run(dash)
    assert "a race needs two" in text
    assert "ran it at the same time" in text


def test_stop_ends_a_broken_run_cleanly_however_far_it_got():
    dash = quick(Dashboard(), jobs=6, seconds=30.0, workers=2, policy="none")
    dash.worker.value = BROKEN_WORKER
    dash.run()
    assert wait_for(lambda: dash.store.counts()[JobStatus.PROCESSING] > 0, timeout=10)
    dash.stop()
    assert dash.wait(timeout=10)
    assert dash.state.value == "stopped"
    assert dash.store.list_jobs(JobStatus.PROCESSING) == []
    message, _table, note = dash.output.outputs
    assert message["text"] == STOPPED_BY_BUTTON + "\n"
    assert note["text"].startswith("No chart: this store keeps no audit log.")


# --- "Lose a worker": recovery shown live (notebook 09) ----------------------------------------


def lose_a_worker(dash, **settings):
    dash = quick(dash, **settings)
    dash.lost_worker.value = True
    return dash


def test_losing_a_worker_is_a_checkbox_off_by_default():
    dash = Dashboard()
    assert isinstance(dash.lost_worker, widgets.Checkbox)
    assert dash.lost_worker.description == "Lose a worker"
    assert dash.lost_worker.value is False
    assert dash.settings().lost_worker is False
    assert dash.lost_worker in dash._controls


def test_a_lost_worker_s_job_is_recovered_retried_and_its_late_report_refused(capfd):
    dash = lose_a_worker(Dashboard(), jobs=6, policy="none", workers=3)
    dash.run()
    assert dash.wait(timeout=30)
    assert dash.state.value == "finished"
    store = dash.store
    assert store.lease_seconds == LOST_LEASE_SECONDS
    lost = store.get_job(LOST_JOB)
    assert (lost.status, lost.attempts, lost.claim) == (JobStatus.COMPLETED, 2, 2)
    log = [t for t in store.transitions() if t.job_id == LOST_JOB]
    first, second = (t for t in log if t.accepted and t.to_status is JobStatus.PROCESSING)
    [recovery] = [t for t in log if t.accepted and t.to_status is JobStatus.FAILED]
    assert recovery.actor == "sweeper"
    assert recovery.detail.startswith(f"lease expired after {LOST_LEASE_SECONDS} s: {first.actor}")
    [late] = [t for t in log if not t.accepted]
    assert (late.actor, late.claim, late.to_status) == (first.actor, 1, JobStatus.COMPLETED)
    assert second.actor != first.actor, "another worker ran it again"
    assert find_violations(store.list_jobs(), store.transitions()) == []
    assert shown_counts(dash) == {"pending": 0, "processing": 0, "completed": 6, "failed": 0}
    story, timeline, audit, table, _chart = dash.output.outputs
    assert story["text"] == lost_worker_story(store) + "\n"
    assert timeline["data"]["image/png"], "the lease timeline of the lost worker's run"
    assert f"{first.actor} came back late; the store refused it: claim 1 reported" in story["text"]
    assert "lease expired" in audit["data"]["text/html"]
    assert "job-006" in table["data"]["text/html"]
    assert capfd.readouterr() == ("", "")


def test_stop_while_a_worker_is_lost_releases_its_job(monkeypatch):
    monkeypatch.setattr(lost_worker_module, "LOST_LEASE_SECONDS", 600.0)
    dash = lose_a_worker(Dashboard(), jobs=3, policy="none", workers=2)
    dash.run()
    try:
        assert wait_for(lambda: dash.store.counts()[JobStatus.COMPLETED] == 2)
        assert dash.store.get_job(LOST_JOB).status is JobStatus.PROCESSING
    finally:
        dash.stop()
        assert dash.wait(timeout=10)
    assert dash.state.value == "stopped"
    lost = dash.store.get_job(LOST_JOB)
    assert (lost.status, lost.attempts) == (JobStatus.PENDING, 0), "released, attempt refunded"
    assert dash.store.get_processing_jobs() == []
    _message, story, _timeline, _audit, _table, _chart = dash.output.outputs
    assert "gave the job back under claim 1 (a release)" in story["text"]


def test_the_broken_worker_cannot_lose_a_worker_and_the_dashboard_says_why():
    [note] = lost_worker_outputs(True, False, InMemoryJobStore())
    assert note["text"] == LOST_WORKER_NEEDS_LEASES + "\n"
    assert lost_worker_outputs(False, True, InMemoryJobStore()) == ()


def test_the_lost_worker_story_is_told_from_the_audit_log():
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=1.0)
    job = store.create_job("report")
    store.claim_job(job.id, actor="worker-2")
    clock.advance(1)
    store.recover_expired_leases(actor="sweeper")
    store.retry_failed_jobs(actor="sweeper")
    store.claim_job(job.id, actor="worker-1")
    with pytest.raises(StaleClaim):
        store.update_status(job.id, "completed", claim=1, actor="worker-2")
    store.update_status(job.id, "failed", "boom", claim=2, actor="worker-1")
    assert lost_worker_story(store).splitlines() == [
        "worker-2 took job-001 (claim 1) and went quiet: no heartbeat, no report.",
        "Its lease ran out, and the sweeper failed the job: lease expired after 1.0 s: "
        "worker-2 lost or stuck on attempt 1.",
        "worker-1 ran it again under claim 2.",
        "worker-2 came back late; the store refused it: claim 1 reported completed after "
        "losing the job; claim 2 holds the job.",
        "Claim 2 ended failed (boom).",
    ]
    assert lost_worker_story(InMemoryJobStore()) == (
        "job-001 was never claimed in this run, so no worker was lost."
    )


def test_the_lost_worker_handler_runs_every_other_attempt_as_usual():
    store = InMemoryJobStore()
    ran = []
    handler = LosesItsWorker(ran.append, store)
    store.create_job("lost")
    other = store.claim_job(store.create_job("other").id)
    handler(other)
    assert ran == [other]


def test_the_lost_attempt_comes_back_only_once_its_job_has_moved_on():
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=1.0)
    lost = store.claim_job(store.create_job("lost", max_retries=1).id)
    handler = LosesItsWorker(lambda job: None, store)
    attempt = threading.Thread(target=handler, args=(lost,))
    attempt.start()
    try:
        attempt.join(timeout=0.2)
        assert attempt.is_alive(), "until then it hangs, sending nothing"
    finally:
        clock.advance(1)
        store.recover_expired_leases()
        attempt.join(timeout=10)
    assert not attempt.is_alive()
    assert store.get_job(lost.id).is_dead
