"""The charts: the state machine drawn from the transition table (and the release move beside
it), the statuses over time, the transition matrix and the broken-versus-correct comparison;
and what every chart shares: a fixed size, a figure pyplot will not show again, drawing into
given axes, and saying so when there is nothing to draw. (The attempts and lease timelines
are in ``test_timelines.py``.)"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from jobqueue_lab import RELEASE, TRANSITIONS, InMemoryJobStore
from jobqueue_lab.views.charts import (
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
from jobqueue_lab.views.timelines import attempts_timeline
from tests.views.figures import legend_labels, nine_jobs, only_axes


@pytest.fixture(scope="module")
def store():
    return nine_jobs()


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


# --- the release move (notebook 09) ----------------------------------------------------------


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
