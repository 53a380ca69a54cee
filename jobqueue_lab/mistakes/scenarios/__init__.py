"""Scenarios: each broken variant run beside the correct pattern, under the same conditions.

One module per mistake, named like the module of the broken variant it runs (``unlocked_store``
here runs ``mistakes.unlocked_store``), and ``harness`` with what they share: the result types
and the thread helpers (``claim_process`` is the process that the lost update across processes
is played with). Each ``scenario_*`` returns a ``ScenarioResult``; ``SCENARIOS`` lists them all
in the order the course shows them, and ``run_all`` runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .forgetful_worker import scenario_failed_without_reason
from .harness import (
    DEFAULT_TIMEOUT,
    JobRow,
    Scenario,
    ScenarioResult,
    SideResult,
    checked_timeout,
)
from .lost_workers import scenario_no_fencing, scenario_no_lease
from .mutating_worker import scenario_worker_mutates_state
from .no_retry_limit import scenario_no_retry_limit
from .random_failure import OUTCOME_CHANGED, scenario_random_failure
from .save_too_early import scenario_saved_before_error
from .self_retrying_worker import RETRY_STORM, scenario_worker_retries_itself
from .unchecked_error import CRASHED_READING_ERROR, scenario_reading_missing_error
from .unconditional_update import scenario_unconditional_update
from .unlocked_store import scenario_no_lock

SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        scenario.name: scenario
        for scenario in (
            scenario_worker_mutates_state,
            scenario_failed_without_reason,
            scenario_saved_before_error,
            scenario_reading_missing_error,
            scenario_random_failure,
            scenario_no_lock,
            scenario_no_retry_limit,
            scenario_worker_retries_itself,
            scenario_no_lease,
            scenario_no_fencing,
            scenario_unconditional_update,
        )
    }
)
"""Every scenario by name, in the order the course shows them."""


def run_all(*, timeout: float = DEFAULT_TIMEOUT) -> list[ScenarioResult]:
    """Run every scenario once, in order."""
    timeout = checked_timeout(timeout)
    return [scenario(timeout=timeout) for scenario in SCENARIOS.values()]


__all__ = [
    "CRASHED_READING_ERROR",
    "DEFAULT_TIMEOUT",
    "OUTCOME_CHANGED",
    "RETRY_STORM",
    "SCENARIOS",
    "JobRow",
    "Scenario",
    "ScenarioResult",
    "SideResult",
    "run_all",
    "scenario_failed_without_reason",
    "scenario_no_lock",
    "scenario_no_retry_limit",
    "scenario_random_failure",
    "scenario_reading_missing_error",
    "scenario_saved_before_error",
    "scenario_unconditional_update",
    "scenario_worker_mutates_state",
    "scenario_worker_retries_itself",
]
