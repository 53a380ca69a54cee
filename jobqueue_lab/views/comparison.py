"""Tables for the broken-versus-correct scenarios: their results as pandas DataFrames.

``mistakes.scenarios`` runs the scenarios and returns plain data; this module only lays it out
for a notebook. Rows keep a fixed order (scenarios as given, the broken side before the correct
one, evidence as the checker sorted it), and ``None`` stays ``None`` rather than becoming NaN,
so a notebook that stores these tables shows the same text on every run.

>>> from jobqueue_lab.mistakes.scenarios import scenario_saved_before_error
>>> table = summary_frame(scenario_saved_before_error())
>>> table[["side", "problems"]]
      side  problems
0   broken         2
1  correct         0
>>> list(table["defect"])
['the reason was set after the save, and lost', '']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple

import pandas as pd

from ..checks import Violation
from ..mistakes.scenarios import ScenarioResult, SideResult
from .tables import frame_from_rows

EVIDENCE_COLUMNS = ("scenario", "side", "invariant", "job_id", "detail")
SUMMARY_COLUMNS = ("scenario", "side", "problems", "defect")
JOB_COLUMNS = ("scenario", "side", "id", "type", "status", "attempts", "max_retries", "last_error")


def evidence_frame(results: ScenarioResult | Iterable[ScenarioResult]) -> pd.DataFrame:
    """One row per piece of evidence: ``scenario, side, invariant, job_id, detail``.

    ``invariant`` is the rule that was broken (a name from ``checks.INVARIANTS``, or a
    scenario's own check such as "crashed reading last_error"). A clean side has no rows.
    One problem may have several pieces of evidence: a job run twice shows up both in what
    the handlers saw and in the attempts it recorded.
    """
    rows = [
        (result.scenario, side.side, v.invariant, v.job_id, v.detail)
        for result, side in _sides(results)
        for v in side.evidence
    ]
    return frame_from_rows(rows, EVIDENCE_COLUMNS, may_be_none={"job_id"})


def summary_frame(results: ScenarioResult | Iterable[ScenarioResult]) -> pd.DataFrame:
    """One row per scenario and side: ``scenario, side, problems, defect``.

    ``problems`` counts each broken rule once per job (see ``count_problems``), so the numbers
    can be compared from one scenario to the next. ``defect`` says in plain words what went
    wrong, and is empty for a side that broke no rule. ``charts.comparison_chart`` draws this
    table.
    """
    rows = [
        (result.scenario, side.side, count_problems(side.evidence), side.defect)
        for result, side in _sides(results)
    ]
    return frame_from_rows(rows, SUMMARY_COLUMNS)


def count_problems(evidence: Iterable[Violation]) -> int:
    """How many problems the evidence shows: one for each rule broken on each job.

    Two pieces of evidence that a job ran twice are one problem. Evidence about a whole run
    rather than one job (its ``job_id`` is ``None``) counts once per rule.
    """
    return len({(v.invariant, v.job_id) for v in evidence})


def jobs_frame(results: ScenarioResult | Iterable[ScenarioResult]) -> pd.DataFrame:
    """Every side's jobs as they ended, in creation order: ``scenario, side, id, type, status,
    attempts, max_retries, last_error``."""
    rows = [
        (result.scenario, side.side, *astuple(job))
        for result, side in _sides(results)
        for job in side.jobs
    ]
    return frame_from_rows(rows, JOB_COLUMNS, may_be_none={"last_error"})


def _sides(
    results: ScenarioResult | Iterable[ScenarioResult],
) -> list[tuple[ScenarioResult, SideResult]]:
    if isinstance(results, ScenarioResult):
        results = [results]
    if isinstance(results, (str, bytes)) or not isinstance(results, Iterable):
        raise TypeError(f"expected scenario results, got {type(results).__name__}")
    results = list(results)
    wrong = [type(r).__name__ for r in results if not isinstance(r, ScenarioResult)]
    if wrong:
        raise TypeError(f"expected ScenarioResult items, got {', '.join(sorted(set(wrong)))}")
    return [(result, side) for result in results for side in result.sides]
