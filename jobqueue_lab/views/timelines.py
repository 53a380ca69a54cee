"""Timelines: a run's attempts drawn against time, one bar per attempt.

``attempts_timeline`` shows who ran what and when the sweeper retried; ``lease_timeline`` adds
what notebook 09 is about: the lease granted with each claim, where a lost worker's lease ran
out, the sweeper's recovery, and the late reports the store fenced off. Like every chart here,
each returns its ``Figure`` and reads only the audit log (see ``charts`` for the conventions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import audit
from ..audit import Transition
from ..domain import JobStatus
from ..stores.memory import InMemoryJobStore
from .charts import (
    OUTCOME_COLOURS,
    RETRY_COLOUR,
    STATUS_COLOURS,
    WIDE,
    empty_chart,
    figure_and_axes,
)
from .history import RELEASED
from .tables import attempts_table, transitions_table

LEASE_EXPIRED = audit.LEASE_EXPIRED
"""How ``lease_timeline`` names an attempt the sweeper failed because its lease ran out."""
LEASE_OUTCOME_COLOURS: Mapping[str, str] = {
    **OUTCOME_COLOURS,
    LEASE_EXPIRED: "#dd8452",
    RELEASED: STATUS_COLOURS["pending"],
}
LEASE_COLOUR = "#8172b2"
FENCED_COLOUR = "#c44e52"
_ROOM_FOR_TEXT = 0.08
"""A timeline bar gets its worker's name written under it when it spans this share of the
run; a wait gets its length written above it at a third of that."""


def attempts_timeline(
    store: InMemoryJobStore, *, by: str = "worker", ax: Axes | None = None
) -> Figure:
    """A Gantt chart of attempts: one bar per attempt, coloured by its outcome.

    ``by="worker"`` gives one row per worker and a ``sweeper`` row marking each retry;
    ``by="job"`` gives one row per job with its retries marked on that row, so the wait for
    the sweeper shows as the gap between a failed bar and the next attempt. Attempts shorter
    than a few thousandths of the run are drawn at that minimum width so they stay visible.
    The legend lists only the colours that appear.
    """
    if by not in ("worker", "job"):
        raise ValueError(f"by must be 'worker' or 'job', got {by!r}")
    fig, ax = figure_and_axes(ax, WIDE)
    attempts = attempts_table(store, times=True, leases=True)
    log = transitions_table(store, times=True)
    retries = log[log["accepted"] & (log["from"] == "failed") & (log["to"] == "pending")]
    if attempts.empty:
        return empty_chart(fig, ax, "no attempts yet")

    end = max([*attempts["started_ms"], *attempts["finished_ms"].dropna()])
    if by == "worker":
        retry_rows = ["sweeper"] * len(retries)
        rows = sorted(set(attempts["worker"]), key=_natural) + retry_rows[:1]
    else:
        retry_rows = list(retries["job_id"])
        rows = list(dict.fromkeys(attempts["job_id"]))
    place = {row: y for y, row in enumerate(rows)}
    minimum = max(end, 1.0) * 0.004
    for attempt in attempts.itertuples():
        finished = end if attempt.finished_ms is None else attempt.finished_ms
        ax.barh(
            place[attempt.worker if by == "worker" else attempt.job_id],
            max(finished - attempt.started_ms, minimum),
            left=attempt.started_ms,
            height=0.6,
            color=OUTCOME_COLOURS[attempt.outcome],
            edgecolor="white",
            linewidth=0.8,
        )
    if retry_rows:
        rows_at = [place[row] for row in retry_rows]
        ax.vlines(
            retries["at_ms"],
            [y - 0.45 for y in rows_at],
            [y + 0.45 for y in rows_at],
            color=RETRY_COLOUR,
            linewidth=2.5,
            zorder=3,
        )
    ax.set_yticks(range(len(rows)), rows, fontsize=_label_size(len(rows)))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(left=0)
    ax.set_xlabel("milliseconds since the store was made")
    ax.set_title(f"Attempts by {by}")
    legend = _timeline_legend(set(attempts["outcome"]), retries=bool(retry_rows))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def lease_timeline(store: InMemoryJobStore, ax: Axes | None = None) -> Figure:
    """Each job's attempts, leases and recoveries, in seconds of the store's clock.

    One row per job. Each attempt is a bar from its claim to whatever ended it, coloured by
    how it ended: ``completed``, ``failed``, ``lease expired`` (nobody reported, so the
    sweeper failed it), ``released`` (given back as its worker stopped) or ``in progress``;
    the worker's name is written under the bar. Around the bars, the moments that decide the
    fate of a job whose worker went quiet:

    * an attempt whose lease ran out gets its lease drawn above it, from the claim to the
      deadline, crossed where it ran out, and a black diamond where the sweeper recovered it.
      The lease is drawn as granted with the claim: a heartbeat extends it but changes no
      status, so the audit log does not record it, and for an attempt that sent heartbeats
      the real deadline came later (still before the recovery);
    * each move back to pending is a black tick; a dotted line joins it to the attempt before
      it, with the wait written above, so backoff shows as gaps that grow;
    * a report refused because its claim had already lost the job (a late worker, fenced off)
      is a red cross on the job's row, where the store refused it.

    Times are the audit log's, seconds since the store was made, so with a ``ManualClock``
    the chart is the same on every run. The legend lists only what appears.
    """
    fig, ax = figure_and_axes(ax, WIDE)
    attempts = attempts_table(store, times=True, leases=True)
    if attempts.empty:
        return empty_chart(fig, ax, "no attempts yet")
    rows = list(dict.fromkeys(attempts["job_id"]))
    place = {job_id: y for y, job_id in enumerate(rows)}
    log = store.transitions()
    retries = [t for t in log if t.accepted and _is_retry(t) and t.job_id in place]
    fenced = [t for t in _fenced(log) if t.job_id in place]
    end = max(entry.at for entry in log)
    minimum = max(end, 1.0) * 0.004
    shown: set[str] = set()
    for attempt in attempts.itertuples():
        shown |= _draw_attempt(ax, attempt, place[attempt.job_id], end, minimum)
    for retry in retries:
        if _draw_wait(ax, retry, attempts, place[retry.job_id], end):
            shown.add("wait")
    if retries:
        ax.vlines(
            [retry.at for retry in retries],
            [place[retry.job_id] - 0.35 for retry in retries],
            [place[retry.job_id] + 0.35 for retry in retries],
            color=RETRY_COLOUR,
            linewidth=2.5,
            zorder=3,
            gid="retries",
        )
        shown.add("retry")
    for report in fenced:
        gid = f"fenced:{report.job_id}:{report.claim}"
        y = place[report.job_id]
        _mark(ax, report.at, y, "X", 11, FENCED_COLOUR, gid, zorder=5, markeredgecolor="white")
        shown.add("fenced")

    ax.set_yticks(range(len(rows)), rows, fontsize=_label_size(len(rows)))
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.set_xlim(0, end * 1.04 + minimum)
    ax.set_xlabel("seconds on the store's clock, since the store was made")
    ax.set_title("Attempts, leases and recoveries")
    ax.legend(handles=_lease_legend(shown), loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _timeline_legend(outcomes: set[str], *, retries: bool) -> list:
    handles: list = [
        Patch(color=colour, label=outcome)
        for outcome, colour in OUTCOME_COLOURS.items()
        if outcome in outcomes
    ]
    if retries:
        handles.append(
            Line2D(
                [],
                [],
                marker="|",
                linestyle="",
                markersize=14,
                markeredgewidth=2.5,
                color=RETRY_COLOUR,
                label="sweeper retry",
            )
        )
    return handles


def _fenced(log: list[Transition]) -> list[Transition]:
    """The refusals of a claim that no longer held its job: late reports, fenced off.

    A claim holds its job while the job is processing under it. Each accepted claim says
    which claim that is, and each refusal records the status the job was in when it came.
    """
    holder: dict[str, int | None] = {}
    fenced = []
    for entry in log:
        if entry.accepted and entry.to_status is JobStatus.PROCESSING:
            holder[entry.job_id] = entry.claim
        held = entry.from_status is JobStatus.PROCESSING and holder.get(entry.job_id) == entry.claim
        if not entry.accepted and entry.claim is not None and not held:
            fenced.append(entry)
    return fenced


def _draw_attempt(ax: Axes, attempt, y: float, end: float, minimum: float) -> set[str]:
    """One attempt's bar and worker name, and for an attempt whose lease ran out, its lease and
    recovery. Returns the legend entries it used."""
    started = attempt.started_ms / 1000
    finished = end if attempt.finished_ms is None else attempt.finished_ms / 1000
    lease = attempt.lease_s if attempt.lease_expired else None
    outcome = LEASE_EXPIRED if lease is not None else attempt.outcome
    gid = f"{attempt.job_id}:{attempt.attempt}"
    ax.barh(
        y,
        max(finished - started, minimum),
        left=started,
        height=0.45,
        color=LEASE_OUTCOME_COLOURS[outcome],
        edgecolor="white",
        linewidth=0.8,
        gid=f"attempt:{gid}",
    )
    if finished - started >= end * _ROOM_FOR_TEXT:
        ax.text(started, y + 0.24, attempt.worker, ha="left", va="top", fontsize=7, color="#444")
    if lease is None:
        return {outcome}
    return {outcome, *_draw_lost_lease(ax, y, started, started + lease, finished, gid)}


def _draw_lost_lease(
    ax: Axes, y: float, started: float, deadline: float, recovered: float, gid: str
) -> set[str]:
    """Above the bar, the lease as granted and where it ran out; on the bar, hatching for the
    time the job stayed processing after that, and the sweeper's recovery at its end."""
    shown = {"lease", "recovery"}
    if recovered > deadline:
        ax.barh(
            y,
            recovered - deadline,
            left=deadline,
            height=0.45,
            fill=False,
            hatch="///",
            edgecolor="white",
            linewidth=0,
            gid=f"overdue:{gid}",
        )
        shown.add("overdue")
    above = y - 0.36
    ax.plot([started, deadline], [above] * 2, color=LEASE_COLOUR, linewidth=2, gid=f"lease:{gid}")
    ax.plot(
        [deadline],
        [above],
        marker="x",
        markersize=8,
        markeredgewidth=2.5,
        color=LEASE_COLOUR,
        gid=f"expiry:{gid}",
    )
    _mark(ax, recovered, y, "D", 7, RETRY_COLOUR, f"recovery:{gid}", zorder=4)
    return shown


def _mark(
    ax: Axes, x: float, y: float, marker: str, size: float, colour: str, gid: str, **style: Any
) -> None:
    """One marker at (x, y), with no line: a fenced report, a recovery."""
    ax.plot([x], [y], marker=marker, markersize=size, color=colour, linestyle="", gid=gid, **style)


def _draw_wait(ax: Axes, retry: Transition, attempts: pd.DataFrame, y: float, end: float) -> bool:
    """The time a failed job waited before it went back to pending: a dotted line from the end
    of the attempt before the move to the move itself, its length written above when there
    is room. Returns whether there was a wait to draw."""
    ended = attempts.loc[attempts["job_id"] == retry.job_id, "finished_ms"].dropna() / 1000
    before = ended[ended <= retry.at]
    if before.empty or retry.at <= before.iloc[-1]:
        return False
    failed_at = before.iloc[-1]
    gid = f"{retry.job_id}:{retry.at:g}"
    ax.plot(
        [failed_at, retry.at],
        [y, y],
        linestyle=":",
        color=RETRY_COLOUR,
        linewidth=1.2,
        gid=f"wait:{gid}",
    )
    if retry.at - failed_at >= end * _ROOM_FOR_TEXT / 3:
        ax.text(
            (failed_at + retry.at) / 2,
            y - 0.3,
            f"{retry.at - failed_at:.3g} s",
            ha="center",
            va="center",
            fontsize=7,
            color=RETRY_COLOUR,
            gid=f"waited:{gid}",
        )
    return True


def _lease_legend(shown: set[str]) -> list:
    handles: list = [
        Patch(color=colour, label=outcome)
        for outcome, colour in LEASE_OUTCOME_COLOURS.items()
        if outcome in shown
    ]
    if "overdue" in shown:
        handles.append(
            Patch(
                facecolor=LEASE_OUTCOME_COLOURS[LEASE_EXPIRED],
                edgecolor="white",
                hatch="///",
                label="still processing after its lease ran out",
            )
        )
    thick = {"markeredgewidth": 2.5}
    lines = {  # what is shown: its label, marker, line style, colour and any other style
        "wait": ("waiting to be retried (seconds above)", "", ":", RETRY_COLOUR, {}),
        "lease": ("lease as granted, and where it ran out", "x", "-", LEASE_COLOUR, thick),
        "recovery": ("sweeper recovers the job", "D", "", RETRY_COLOUR, {}),
        "retry": ("back to pending", "|", "", RETRY_COLOUR, {"markersize": 14, **thick}),
        "fenced": ("late report refused (fenced)", "X", "", FENCED_COLOUR, {"markersize": 10}),
    }
    handles += [
        Line2D([], [], label=label, marker=marker, linestyle=style, color=colour, **extra)
        for name, (label, marker, style, colour, extra) in lines.items()
        if name in shown
    ]
    return handles


def _is_retry(entry: Transition) -> bool:
    return entry.from_status is JobStatus.FAILED and entry.to_status is JobStatus.PENDING


def _natural(name: str) -> tuple:
    """Sort ``worker-2`` before ``worker-10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _label_size(rows: int) -> float:
    return max(4.0, min(10.0, 300.0 / max(rows, 1)))
