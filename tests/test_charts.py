import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from jobqueue_lab import (
    RELEASE,
    TRANSITIONS,
    InMemoryJobStore,
    ManualClock,
    StaleClaim,
    WorkerPool,
    exponential,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.views.charts import (
    OUTCOME_COLOURS,
    RELEASE_LABEL,
    SIDE_COLOURS,
    SQUARE,
    WIDE,
    comparison_chart,
    release_edge,
    state_machine_chart,
    state_machine_edges,
    status_over_time,
    transition_matrix,
)
from jobqueue_lab.views.timelines import (
    LEASE_EXPIRED,
    LEASE_OUTCOME_COLOURS,
    attempts_timeline,
    lease_timeline,
)


@pytest.fixture(scope="module")
def store():
    """Nine jobs, every third an email that always fails; three attempts each."""
    handler = simulated_work(fail=fail_by_type("email"))
    with WorkerPool(workers=3, handler=handler, sweeper_interval=0.001) as pool:
        for n in range(9):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=3)
        assert pool.wait(timeout=30)
    return pool.store


def only_axes(fig):
    [ax] = fig.axes
    return ax


def bars_coloured(ax, outcome):
    colour = to_rgba(OUTCOME_COLOURS[outcome])
    return [bar for bar in ax.patches if bar.get_facecolor() == colour]


def test_the_state_machine_chart_draws_exactly_the_transition_table():
    fig = state_machine_chart()
    table = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
    assert state_machine_edges(fig) == table
    labels = {text.get_text().split("\n")[0] for text in only_axes(fig).texts}
    assert {"pending", "processing", "completed", "failed"} <= labels


def test_the_state_machine_chart_marks_the_final_state():
    texts = [text.get_text() for text in only_axes(state_machine_chart()).texts]
    assert "completed\n(final)" in texts
    assert "failed" in texts


def test_charts_return_a_figure_pyplot_will_not_show_again(store):
    before = plt.get_fignums()
    figures = [
        state_machine_chart(),
        attempts_timeline(store),
        status_over_time(store),
        transition_matrix(store),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    assert plt.get_fignums() == before


def test_charts_use_fixed_sizes(store):
    sizes = {
        "timeline": attempts_timeline(store).get_size_inches(),
        "status": status_over_time(store).get_size_inches(),
        "matrix": transition_matrix(store).get_size_inches(),
        "states": state_machine_chart().get_size_inches(),
    }
    assert tuple(sizes["timeline"]) == tuple(sizes["status"]) == WIDE
    assert tuple(sizes["matrix"]) == tuple(sizes["states"]) == SQUARE


def test_charts_draw_into_the_axes_they_are_given(store):
    fig, (left, right) = plt.subplots(1, 2)
    plt.close(fig)
    assert attempts_timeline(store, ax=left) is fig
    assert state_machine_chart(ax=right) is fig
    assert len(left.patches) > 0
    assert state_machine_edges(fig) == {(s, t) for s, ts in TRANSITIONS.items() for t in ts}


@pytest.mark.parametrize("by", ["worker", "job"])
def test_the_timeline_has_one_bar_per_attempt_coloured_by_outcome(store, by):
    ax = only_axes(attempts_timeline(store, by=by))
    jobs = store.list_jobs()
    failures = [t for t in store.transitions() if t.accepted and t.to_status.value == "failed"]
    assert len(ax.patches) == sum(job.attempts for job in jobs) == 15
    assert len(bars_coloured(ax, "failed")) == len(failures) == 9
    assert len(bars_coloured(ax, "completed")) == 6


def test_the_timeline_by_job_has_a_row_per_job_and_marks_each_retry(store):
    ax = only_axes(attempts_timeline(store, by="job"))
    rows = [label.get_text() for label in ax.get_yticklabels()]
    assert rows == [job.id for job in store.list_jobs()]
    [ticks] = ax.collections
    retries = [t for t in store.transitions() if t.accepted and t.from_status == "failed"]
    assert len(ticks.get_segments()) == len(retries) == 6
    heights = {round(abs(b[1] - a[1]), 2) for a, b in ticks.get_segments()}
    assert heights == {0.9}, "each retry tick spans most of its row, so it is easy to see"


def legend_labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_the_timeline_legend_lists_only_what_appears(store):
    assert legend_labels(only_axes(attempts_timeline(store))) == [
        "completed",
        "failed",
        "sweeper retry",
    ]
    unfinished = InMemoryJobStore()
    unfinished.claim_job(unfinished.create_job("report").id, actor="worker-1")
    assert legend_labels(only_axes(attempts_timeline(unfinished))) == ["in progress"]


def test_the_timeline_by_worker_adds_a_sweeper_row(store):
    ax = only_axes(attempts_timeline(store, by="worker"))
    rows = [label.get_text() for label in ax.get_yticklabels()]
    workers = {t.actor for t in store.transitions() if t.to_status.value == "processing"}
    assert rows[:-1] == sorted(workers)
    assert rows[-1] == "sweeper"


def test_the_timeline_shows_an_unfinished_attempt_as_in_progress():
    store = InMemoryJobStore()
    job = store.create_job("report")
    store.claim_job(job.id, actor="worker-1")
    ax = only_axes(attempts_timeline(store, by="job"))
    assert len(bars_coloured(ax, "in progress")) == 1


def test_the_timeline_refuses_an_unknown_grouping(store):
    with pytest.raises(ValueError, match="by must be 'worker' or 'job'"):
        attempts_timeline(store, by="type")


def test_charts_of_an_empty_store_say_so():
    store = InMemoryJobStore()
    texts = [t.get_text() for t in only_axes(attempts_timeline(store)).texts]
    assert texts == ["no attempts yet"]
    texts = [t.get_text() for t in only_axes(status_over_time(store)).texts]
    assert texts == ["no jobs yet"]


def test_status_over_time_stacks_all_four_statuses_up_to_the_number_of_jobs(store):
    ax = only_axes(status_over_time(store))
    areas = {area.get_label(): area for area in ax.collections}
    assert list(areas) == ["completed", "failed", "processing", "pending"]
    top = max(y for path in areas["pending"].get_paths() for _, y in path.vertices)
    assert top == len(store) == 9
    assert legend_labels(ax) == ["completed", "failed", "processing", "pending"]


def counts_at_the_right_edge(ax) -> dict[str, int]:
    """How many jobs the status chart shows in each status where it ends, read from the
    drawn areas: the height of each one at the right edge of the axes."""
    right = ax.get_xlim()[1]
    shown = {}
    for area in ax.collections:
        ys = [y for path in area.get_paths() for x, y in path.vertices if np.isclose(x, right)]
        shown[area.get_label()] = round(max(ys) - min(ys))
    return shown


def test_status_over_time_ends_on_the_final_counts(store):
    final = {status.value: n for status, n in store.counts().items()}
    assert counts_at_the_right_edge(only_axes(status_over_time(store))) == final


def test_status_over_time_shows_the_result_of_the_last_change():
    """The last change is the one most easily lost: here it completes job-001, and the chart
    must end with it completed, not processing."""
    store = InMemoryJobStore()
    first = store.create_job("report")
    store.create_job("report")
    store.claim_job(first.id)
    store.update_status(first.id, "completed")
    shown = counts_at_the_right_edge(only_axes(status_over_time(store)))
    assert shown == {"completed": 1, "failed": 0, "processing": 0, "pending": 1}


def matrix_texts(store):
    ax = only_axes(transition_matrix(store))
    return {text.get_gid(): text.get_text() for text in ax.texts if text.get_gid()}


def test_the_transition_matrix_counts_each_change(store):
    texts = matrix_texts(store)
    assert texts["accepted:created->pending"] == "9"
    assert texts["accepted:pending->processing"] == "15"
    assert texts["accepted:processing->completed"] == "6"
    assert texts["accepted:processing->failed"] == "9"
    assert texts["accepted:failed->pending"] == "6"
    assert not [gid for gid in texts if gid.startswith("refused:")]


def test_the_transition_matrix_marks_refusals_in_red():
    store = InMemoryJobStore()
    job = store.create_job("report")
    store.claim_job(job.id)
    store.update_status(job.id, "completed")
    with pytest.raises(ValueError):
        store.update_status(job.id, "failed", "too late")
    ax = only_axes(transition_matrix(store))
    [refused] = [text for text in ax.texts if text.get_gid() == "refused:completed->failed"]
    assert refused.get_text() == "1 refused"
    assert refused.get_color() == "#c44e52"


def problems_frame():
    return pd.DataFrame(
        {
            "scenario": ["mutating worker", "mutating worker", "no lock", "no lock"],
            "side": ["broken", "correct", "broken", "correct"],
            "problems": [4, 0, 7, 0],
        }
    )


def test_the_comparison_chart_puts_broken_beside_correct_per_scenario():
    ax = only_axes(comparison_chart(problems_frame()))
    heights = {c.get_label(): [bar.get_height() for bar in c] for c in ax.containers}
    assert heights == {"broken": [4, 7], "correct": [0, 0]}
    assert [label.get_text() for label in ax.get_xticklabels()] == ["mutating worker", "no lock"]
    assert "once per job" in ax.get_ylabel()


def test_the_comparison_chart_draws_a_visible_bar_for_zero():
    ax = only_axes(comparison_chart(problems_frame().replace({7: 0})))
    flat = {line.get_gid(): line for line in ax.lines if (line.get_gid() or "").startswith("zero:")}
    assert set(flat) == {
        "zero:mutating worker:correct",
        "zero:no lock:correct",
        "zero:no lock:broken",
    }
    for line in flat.values():
        assert line.get_linewidth() >= 4 and not line.get_clip_on()
        assert set(line.get_ydata()) == {0}
    assert to_rgba(flat["zero:no lock:correct"].get_color()) == to_rgba(SIDE_COLOURS["correct"])


@pytest.mark.parametrize(
    ("summary", "error", "message"),
    [
        ([1, 2], TypeError, "must be a pandas DataFrame"),
        (problems_frame().drop(columns="side"), ValueError, "missing the column"),
        (problems_frame().replace({"correct": "fixed"}), ValueError, "'broken' or 'correct'"),
        (pd.concat([problems_frame()] * 2), ValueError, "must appear once"),
        (problems_frame().assign(problems="many"), TypeError, "must hold numbers"),
    ],
)
def test_the_comparison_chart_refuses_a_malformed_summary(summary, error, message):
    with pytest.raises(error, match=message):
        comparison_chart(summary)


# --- the release move and the lease timeline (notebook 09) -------------------------------------


def test_the_state_machine_chart_draws_the_release_move_dashed_and_labelled():
    fig = state_machine_chart()
    arrow = release_edge(fig)
    assert arrow is not None
    assert arrow.get_linestyle() == "--"
    solid = [a for a in only_axes(fig).get_children() if (a.get_gid() or "").startswith("trans")]
    assert len(solid) == 4
    assert all(a.arrow_patch.get_linestyle() == "solid" for a in solid)
    assert RELEASE_LABEL in [text.get_text() for text in only_axes(fig).texts]
    assert "notebook 09" in RELEASE_LABEL
    assert RELEASE not in state_machine_edges(fig), "the release is not an arrow of the table"


def test_a_chart_without_the_release_move_has_none():
    fig = attempts_timeline(InMemoryJobStore())
    assert release_edge(fig) is None


def lost_and_backed_off():
    """Moved by hand on a manual clock, so every time is known.

    job-001: worker-1 claims it at 0 and goes quiet; its 30 s lease runs out, and the sweep at
    40 recovers it; after a backoff of 1 s, worker-2 runs it again from 41 to 51, and
    worker-1's late report at 46 is refused. job-002 fails three times under exponential
    backoff (waits of 1, 2 and 4 s), then completes. job-003 is released by a stopping worker.
    """
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=30, backoff=exponential(base=1))
    lost, flaky, released = (store.create_job(t, max_retries=4).id for t in "abc")
    store.claim_job(lost, actor="worker-1")
    store.claim_job(released, actor="worker-3")
    clock.advance(2)
    store.release_job(released, claim=1, actor="worker-3")
    for claim in (1, 2, 3):
        store.claim_job(flaky, actor="worker-3")
        clock.advance(1)
        store.update_status(flaky, "failed", "busy", claim=claim, actor="worker-3")
        clock.advance(store.get_job(flaky).retry_at - store.now())
        store.retry_failed_jobs(actor="sweeper")
    store.claim_job(flaky, actor="worker-3")
    clock.advance(1)
    store.update_status(flaky, "completed", claim=4, actor="worker-3")
    clock.advance(40 - store.now())
    store.recover_expired_leases(actor="sweeper")
    clock.advance(1)
    store.retry_failed_jobs(actor="sweeper")
    store.claim_job(lost, actor="worker-2")
    clock.advance(5)
    with pytest.raises(StaleClaim):
        store.update_status(lost, "completed", claim=1, actor="worker-1")
    clock.advance(5)
    store.update_status(lost, "completed", claim=2, actor="worker-2")
    return store


def gids(fig, prefix):
    return {
        artist.get_gid(): artist
        for artist in only_axes(fig).get_children()
        if (artist.get_gid() or "").startswith(prefix)
    }


def bar_span(bar):
    return round(bar.get_x(), 2), round(bar.get_x() + bar.get_width(), 2)


def test_the_lease_timeline_draws_the_lost_lease_its_expiry_and_the_recovery():
    fig = lease_timeline(lost_and_backed_off())
    [lease] = gids(fig, "lease:").values()
    assert lease.get_gid() == "lease:job-001:1"
    assert list(lease.get_xdata()) == [0.0, 30.0], "from the claim to the deadline"
    [expiry] = gids(fig, "expiry:").values()
    assert list(expiry.get_xdata()) == [30.0] and expiry.get_marker() == "x"
    [recovery] = gids(fig, "recovery:").values()
    assert list(recovery.get_xdata()) == [40.0], "where the sweeper failed the job"
    [overdue] = gids(fig, "overdue:").values()
    assert bar_span(overdue) == (30.0, 40.0), "processing after the lease ran out"


def test_the_lease_timeline_colours_each_attempt_by_how_it_ended():
    fig = lease_timeline(lost_and_backed_off())
    bars = gids(fig, "attempt:")
    colour = {gid: bar.get_facecolor() for gid, bar in bars.items()}
    expected = {
        "attempt:job-001:1": LEASE_EXPIRED,
        "attempt:job-001:2": "completed",
        "attempt:job-002:1": "failed",
        "attempt:job-002:4": "completed",
        "attempt:job-003:1": "released",
    }
    for gid, outcome in expected.items():
        assert colour[gid] == to_rgba(LEASE_OUTCOME_COLOURS[outcome]), gid
    assert len(bars) == 2 + 4 + 1


def test_the_lease_timeline_marks_the_late_report_it_refused():
    store = lost_and_backed_off()
    [fenced] = gids(lease_timeline(store), "fenced:").values()
    assert fenced.get_gid() == "fenced:job-001:1"
    [refusal] = [t for t in store.transitions() if not t.accepted]
    assert list(fenced.get_xdata()) == [refusal.at] == [46.0]


def test_the_lease_timeline_shows_backoff_gaps_growing():
    fig = lease_timeline(lost_and_backed_off())
    waits = sorted(gids(fig, "wait:job-002").values(), key=lambda line: line.get_xdata()[0])
    assert [line.get_xdata()[1] - line.get_xdata()[0] for line in waits] == [1, 2, 4]
    assert all(line.get_linestyle() == ":" for line in waits)
    labels = [text.get_text() for text in gids(fig, "waited:job-002").values()]
    assert set(labels) <= {"1 s", "2 s", "4 s"} and "4 s" in labels


def test_the_lease_timeline_writes_each_wait_when_there_is_room():
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, backoff=exponential(base=2))
    job = store.create_job("t", max_retries=4)
    for claim in (1, 2, 3):
        store.claim_job(job.id)
        clock.advance(1)
        store.update_status(job.id, "failed", "busy", claim=claim)
        clock.advance(store.get_job(job.id).retry_at - store.now())
        store.retry_failed_jobs()
    labels = [t.get_text() for t in only_axes(lease_timeline(store)).texts if t.get_gid()]
    assert labels == ["2 s", "4 s", "8 s"]


def test_the_lease_timeline_legend_lists_only_what_appears():
    assert legend_labels(only_axes(lease_timeline(lost_and_backed_off()))) == [
        "completed",
        "failed",
        "lease expired",
        "released",
        "still processing after its lease ran out",
        "waiting to be retried (seconds above)",
        "lease as granted, and where it ran out",
        "sweeper recovers the job",
        "back to pending",
        "late report refused (fenced)",
    ]
    plain = InMemoryJobStore()
    plain.claim_job(plain.create_job("t").id)
    assert legend_labels(only_axes(lease_timeline(plain))) == ["in progress"]


def test_the_lease_timeline_is_a_fixed_size_figure_pyplot_will_not_show_again():
    before = plt.get_fignums()
    fig = lease_timeline(lost_and_backed_off())
    assert isinstance(fig, Figure) and tuple(fig.get_size_inches()) == WIDE
    assert plt.get_fignums() == before
    assert [t.get_text() for t in only_axes(lease_timeline(InMemoryJobStore())).texts] == [
        "no attempts yet"
    ]


def test_the_lease_timeline_leaves_out_refusals_of_jobs_never_claimed():
    store = InMemoryJobStore()
    waiting = store.create_job("t").id
    store.claim_job(store.create_job("t").id)
    with pytest.raises(StaleClaim):
        store.renew_lease(waiting, claim=1)
    ax = only_axes(lease_timeline(store))
    assert [label.get_text() for label in ax.get_yticklabels()] == ["job-002"]
    assert not gids(ax.figure, "fenced:")
