"""Checks for notebook 08, the dashboard: every job completes, but not at first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import JobStatus
from .feedback import Problems, attempt, broken_rules, limited

JOBS = 12
"""How many jobs the run should have."""

MAX_HANDLER_SECONDS = 0.05
"""The most handler time the check allows, so that it runs quickly."""

RUN_SECONDS = 20


def check_configure(configure: Callable[[Any], Any]) -> Problems:
    """``configure(dash)`` sets a ``Dashboard``'s controls from code.

    Wanted: a run of twelve jobs in which every job completes in the end, although some
    attempts fail on the way (so the sweeper has retries to do), with the correct worker and
    little handler time so the check is quick. The check makes its own dashboard, applies
    ``configure``, presses Run from code, and reads the store afterwards.
    """
    from traitlets import TraitError  # only this check needs ipywidgets

    from ..views.dashboard import CORRECT_WORKER, Dashboard

    dash = Dashboard(refresh_seconds=0.05, time_limit=RUN_SECONDS)
    _, problem = attempt(
        configure, dash, call="configure(dash)", hints={TraitError: _choices_hint(dash)}
    )
    if problem is not None:
        return [problem]
    settings = dash.settings()
    problems: Problems = []
    if settings.jobs != JOBS:
        problems.append(f"the run has {settings.jobs} jobs; set dash.jobs.value to {JOBS}")
    if settings.handler_seconds > MAX_HANDLER_SECONDS:
        problems.append(
            f"handler seconds is {settings.handler_seconds}; keep it at {MAX_HANDLER_SECONDS} "
            "or less so the check runs quickly"
        )
    if settings.worker != CORRECT_WORKER:
        problems.append(f"use the correct worker ({CORRECT_WORKER!r}) for this exercise")
    if problems:
        return problems
    dash.run()
    if not dash.wait(timeout=RUN_SECONDS + 5) or dash.state.value != "finished":
        dash.stop()
        dash.wait(timeout=5)
        return [
            f"the run did not finish within {RUN_SECONDS} seconds, which these settings "
            "should never need; the machine may be busy, so run the check again"
        ]
    store = dash.store
    failed_attempts = sum(
        1 for t in store.transitions() if t.accepted and t.to_status is JobStatus.FAILED
    )
    for job in store.get_failed_jobs():
        problems.append(
            f"{job.id} ({job.type}) failed for good after {job.attempts} attempt(s): "
            f"{job.last_error}"
        )
    if failed_attempts == 0:
        problems.append(
            "no attempt failed, so the sweeper had nothing to retry: choose a failure "
            "policy under which some attempts fail"
        )
    if not problems:
        problems = broken_rules(store)
    return limited(problems)


def _choices_hint(dash: Any) -> str:
    """What each drop-down control of ``dash`` accepts, for a learner who set one to
    something it does not list."""
    choices = [
        f"dash.{name}.value is one of {', '.join(repr(option) for option in widget.options)}"
        for name, widget in vars(dash).items()
        if not name.startswith("_") and isinstance(getattr(widget, "options", None), tuple)
    ]
    return "a drop-down takes only the values it lists, spelled exactly: " + "; ".join(choices)
