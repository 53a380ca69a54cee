"""Charts: the state machine and a run's history, drawn with matplotlib.

Each function returns the matplotlib ``Figure`` and takes an optional ``ax`` to draw into. End
a notebook cell with the call and the figure shows once, with no stray ``Line2D`` text: when a
function makes its own figure it closes it in pyplot straight away, so the inline backend does
not show it a second time when the cell ends. Pass ``ax`` to put several charts in one figure.

Like the tables, every chart reads only snapshots and the audit log, and uses one fixed size
per kind of chart, so a chart of the same scenario looks the same from run to run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from ..domain import RELEASE, TRANSITIONS, JobStatus
from ..stores.memory import InMemoryJobStore
from .history import IN_PROGRESS
from .tables import status_counts_over_time, transition_counts

WIDE = (9.0, 4.0)
SQUARE = (6.0, 5.0)

STATUS_COLOURS: Mapping[str, str] = {
    "pending": "#b0b7c3",
    "processing": "#4c72b0",
    "completed": "#55a868",
    "failed": "#c44e52",
}
OUTCOME_COLOURS: Mapping[str, str] = {
    "completed": STATUS_COLOURS["completed"],
    "failed": STATUS_COLOURS["failed"],
    IN_PROGRESS: STATUS_COLOURS["processing"],
}
SIDE_COLOURS: Mapping[str, str] = {"broken": "#c44e52", "correct": "#55a868"}
RETRY_COLOUR = "#222222"

EDGE_LABELS: Mapping[tuple[JobStatus, JobStatus], str] = {
    (JobStatus.PENDING, JobStatus.PROCESSING): "a worker claims it",
    (JobStatus.PROCESSING, JobStatus.COMPLETED): "worker signals success",
    (JobStatus.PROCESSING, JobStatus.FAILED): "worker signals failure\n(with last_error)",
    (JobStatus.FAILED, JobStatus.PENDING): "sweeper retries\n(while attempts < max_retries)",
}
"""Words for the arrows. The arrows themselves come from ``TRANSITIONS``, not from this."""

RELEASE_LABEL = "released by a stopping worker\n(the recovery move, notebook 09)"
"""Words for the dashed arrow of ``RELEASE``, the one move outside the table."""

_NODE_PLACES: Mapping[JobStatus, tuple[float, float]] = {
    JobStatus.PENDING: (0.0, 0.0),
    JobStatus.PROCESSING: (3.0, 0.0),
    JobStatus.COMPLETED: (6.0, 1.2),
    JobStatus.FAILED: (6.0, -1.2),
}
_LABEL_PLACES: Mapping[tuple[JobStatus, JobStatus], tuple[float, float]] = {
    (JobStatus.PENDING, JobStatus.PROCESSING): (1.5, -0.3),
    (JobStatus.PROCESSING, JobStatus.COMPLETED): (3.95, 1.0),
    (JobStatus.PROCESSING, JobStatus.FAILED): (3.6, -1.0),
    (JobStatus.FAILED, JobStatus.PENDING): (3.0, -2.05),
}
_RELEASE_LABEL_PLACE = (1.35, 0.85)
_EDGE_GID = re.compile(r"^transition:(\w+)->(\w+)$")
_RELEASE_GID = "release:{}->{}".format(*(status.value for status in RELEASE))


def state_machine_chart(ax: Axes | None = None) -> Figure:
    """Draw the job state machine straight from ``TRANSITIONS``: one arrow per allowed move.

    Because the arrows are read from the table, this picture cannot disagree with the store.
    ``state_machine_edges(fig)`` reads back the arrows that were drawn. The release move
    (``RELEASE``, processing -> pending) is drawn too, dashed and labelled, because it is not
    in the table: only a worker giving back the job it holds may make it (notebook 09).
    ``release_edge(fig)`` finds it.
    """
    fig, ax = figure_and_axes(ax, SQUARE)
    boxes = {}
    for status, (x, y) in _NODE_PLACES.items():
        final = "\n(final)" if not TRANSITIONS[status] else ""
        text = ax.text(
            x,
            y,
            status.value + final,
            ha="center",
            va="center",
            fontsize=11,
            bbox={
                "boxstyle": "round,pad=0.6",
                "facecolor": STATUS_COLOURS[status.value],
                "edgecolor": "#333333",
            },
            zorder=3,
        )
        boxes[status] = text.get_bbox_patch()
    for source, targets in TRANSITIONS.items():
        for target in sorted(targets, key=list(JobStatus).index):
            _draw_edge(ax, source, target, boxes)
    _draw_release(ax, boxes)
    ax.set_xlim(-1.5, 7.5)
    ax.set_ylim(-2.6, 2.2)
    ax.set_axis_off()
    ax.set_title("Job states: the arrows are the only moves the store accepts")
    return fig


def state_machine_edges(fig: Figure) -> set[tuple[JobStatus, JobStatus]]:
    """The (from, to) arrows drawn in a ``state_machine_chart`` figure."""
    edges = set()
    for ax in fig.axes:
        for artist in ax.get_children():
            match = _EDGE_GID.match(artist.get_gid() or "")
            if match:
                edges.add((JobStatus(match[1]), JobStatus(match[2])))
    return edges


def release_edge(fig: Figure) -> FancyArrowPatch | None:
    """The dashed release arrow of a ``state_machine_chart`` figure, or ``None``."""
    for ax in fig.axes:
        for artist in ax.get_children():
            if artist.get_gid() == _RELEASE_GID:
                return artist.arrow_patch
    return None


def status_over_time(store: InMemoryJobStore, ax: Axes | None = None) -> Figure:
    """A stacked area of how many jobs were in each status, after every accepted change.

    The top edge is the number of jobs created so far; the colours show where they were. Each
    count holds until the next change, so the chart runs on past the last change, for a
    twentieth of the run, to show how the run ended: its right edge is ``store.counts()``.
    """
    fig, ax = figure_and_axes(ax, WIDE)
    history = status_counts_over_time(store, times=True)
    if history.empty:
        return empty_chart(fig, ax, "no jobs yet")
    last_change = history["at_ms"].iloc[-1]
    start = pd.DataFrame({column: [0] for column in history.columns})
    end = history.tail(1).assign(at_ms=last_change + max(last_change * 0.05, 1.0))
    history = pd.concat([start, history, end], ignore_index=True)
    bottom = pd.Series(0, index=history.index)
    for status in ("completed", "failed", "processing", "pending"):
        top = bottom + history[status]
        ax.fill_between(
            history["at_ms"],
            bottom,
            top,
            step="post",
            color=STATUS_COLOURS[status],
            label=status,
            linewidth=0,
        )
        bottom = top
    ax.set_xlim(0, history["at_ms"].iloc[-1])
    ax.set_ylim(0, max(bottom.max(), 1) * 1.05)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("milliseconds since the store was made")
    ax.set_ylabel("jobs")
    ax.set_title("Jobs in each status over time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def transition_matrix(store: InMemoryJobStore, ax: Axes | None = None) -> Figure:
    """A from x to grid counting the changes asked for; refusals are marked in red.

    Cells the table allows are tinted green, the rest grey. Each cell shows how many changes
    were accepted; a refused change adds a red "refused" line and a red frame, so a broken
    worker's attempts to break the rules stand out.
    """
    fig, ax = figure_and_axes(ax, SQUARE)
    sources: list[JobStatus | None] = [None, *JobStatus]
    targets = list(JobStatus)
    counts = {
        (row["from"], row["to"]): (row["accepted"], row["refused"])
        for row in transition_counts(store).to_dict("records")
    }
    for y, source in enumerate(sources):
        for x, target in enumerate(targets):
            allowed = (
                target is JobStatus.PENDING if source is None else target in TRANSITIONS[source]
            )
            key = (None if source is None else source.value, target.value)
            accepted, refused = counts.get(key, (0, 0))
            label = f"{key[0] or 'created'}->{key[1]}"
            _matrix_cell(ax, (x, y), label, allowed, accepted, refused)
    ax.set_xticks(range(len(targets)), [t.value for t in targets])
    ax.set_yticks(range(len(sources)), ["(created)" if s is None else s.value for s in sources])
    ax.set_xlim(-0.5, len(targets) - 0.5)
    ax.set_ylim(len(sources) - 0.5, -0.5)
    ax.tick_params(length=0)
    ax.xaxis.set_ticks_position("top")
    ax.set_xlabel("to")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("from")
    ax.set_title("Changes asked for: accepted counts, refusals in red", pad=28)
    return fig


def comparison_chart(summary: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Problems per scenario, the broken variant beside the correct one.

    ``summary`` is ``comparison.summary_frame(results)``: one row per (scenario, side) with
    columns ``scenario``, ``side`` (``"broken"`` or ``"correct"``) and ``problems`` (each rule
    broken, counted once per job). Scenarios keep their order. A side with no problems gets a
    flat bar in its colour, so a zero is seen, not just read.
    """
    _check_comparison(summary)
    fig, ax = figure_and_axes(ax, WIDE)
    scenarios = list(dict.fromkeys(summary["scenario"]))
    width = 0.38
    for offset, side in ((-width / 2, "broken"), (width / 2, "correct")):
        rows = summary[summary["side"] == side]
        places = [scenarios.index(s) + offset for s in rows["scenario"]]
        colour = SIDE_COLOURS[side]
        bars = ax.bar(places, rows["problems"], width, color=colour, label=side)
        ax.bar_label(bars)
        for place, scenario, problems in zip(places, rows["scenario"], rows["problems"]):
            if problems == 0:
                _flat_bar(ax, place, width, colour, gid=f"zero:{scenario}:{side}")
    ax.set_xticks(range(len(scenarios)), scenarios, rotation=25, ha="right")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("problems\n(each rule broken, once per job)")
    ax.set_title("Broken vs correct: problems per scenario")
    ax.legend()
    return fig


# --- helpers ------------------------------------------------------------------------------------


def figure_and_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    """Use the caller's axes, or make a figure of ``size`` that pyplot will not show twice."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    plt.close(fig)
    return fig, ax


def _draw_edge(ax: Axes, source: JobStatus, target: JobStatus, boxes: dict) -> None:
    (x0, y0), (x1, y1) = _NODE_PLACES[source], _NODE_PLACES[target]
    backwards = x1 < x0
    arrow = ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={
            "arrowstyle": "-|>",
            "mutation_scale": 18,
            "color": "#333333",
            "patchA": boxes[source],
            "patchB": boxes[target],
            "connectionstyle": f"arc3,rad={-0.45 if backwards else 0.0}",
        },
        zorder=2,
    )
    arrow.set_gid(f"transition:{source.value}->{target.value}")
    middle = ((x0 + x1) / 2, (y0 + y1) / 2)
    ax.text(
        *_LABEL_PLACES.get((source, target), middle),
        EDGE_LABELS.get((source, target), ""),
        ha="center",
        va="center",
        fontsize=9,
        color="#333333",
    )


def _draw_release(ax: Axes, boxes: dict) -> None:
    """The release move: dashed, curving above the claim arrow, and labelled as the exception."""
    source, target = RELEASE
    arrow = ax.annotate(
        "",
        xy=_NODE_PLACES[target],
        xytext=_NODE_PLACES[source],
        arrowprops={
            "arrowstyle": "-|>",
            "mutation_scale": 18,
            "color": "#555555",
            "linestyle": "--",
            "patchA": boxes[source],
            "patchB": boxes[target],
            "connectionstyle": "arc3,rad=0.45",
        },
        zorder=2,
    )
    arrow.set_gid(_RELEASE_GID)
    ax.text(
        *_RELEASE_LABEL_PLACE,
        RELEASE_LABEL,
        ha="center",
        va="center",
        fontsize=8.5,
        color="#555555",
        style="italic",
    )


def _matrix_cell(
    ax: Axes, at: tuple[int, int], label: str, allowed: bool, accepted: int, refused: int
) -> None:
    """One cell of the transition matrix: tint, accepted count, and any refusals in red."""
    x, y = at
    ax.add_patch(
        Rectangle(
            (x - 0.5, y - 0.5),
            1,
            1,
            facecolor="#dcefdc" if allowed else "#eeeeee",
            edgecolor="white",
        )
    )
    show_accepted = bool(accepted or allowed)
    if show_accepted:
        ax.text(
            x,
            y - (0.15 if refused else 0),
            str(accepted),
            ha="center",
            va="center",
            fontsize=12,
            gid=f"accepted:{label}",
        )
    if refused:
        ax.add_patch(
            Rectangle(
                (x - 0.45, y - 0.45),
                0.9,
                0.9,
                fill=False,
                edgecolor="#c44e52",
                linewidth=2.5,
                zorder=3,
            )
        )
        ax.text(
            x,
            y + (0.2 if show_accepted else 0),
            f"{refused} refused",
            ha="center",
            va="center",
            fontsize=9,
            color="#c44e52",
            gid=f"refused:{label}",
        )


def _flat_bar(ax: Axes, x: float, width: float, colour: str, *, gid: str) -> None:
    """A thick line along the bottom of the axes where a bar of height zero stands."""
    ax.plot(
        [x - width / 2, x + width / 2],
        [0, 0],
        color=colour,
        linewidth=6,
        solid_capstyle="butt",
        clip_on=False,
        zorder=3,
        gid=gid,
    )


def empty_chart(fig: Figure, ax: Axes, message: str) -> Figure:
    """``fig`` with ``message`` in place of a chart that has nothing to draw yet."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _check_comparison(summary: object) -> None:
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas DataFrame, got {type(summary).__name__}")
    missing = [c for c in ("scenario", "side", "problems") if c not in summary.columns]
    if missing:
        raise ValueError(f"summary is missing the column(s) {', '.join(missing)}")
    sides = set(summary["side"]) - set(SIDE_COLOURS)
    if sides:
        raise ValueError(f"side must be 'broken' or 'correct', got {sorted(map(str, sides))}")
    if not pd.api.types.is_numeric_dtype(summary["problems"]):
        raise TypeError("summary['problems'] must hold numbers (problem counts)")
    if summary.duplicated(["scenario", "side"]).any():
        raise ValueError("each (scenario, side) pair must appear once in summary")
