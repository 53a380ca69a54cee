"""Scenario for retries without a limit: an email that always fails, swept eight times."""

from __future__ import annotations

from functools import partial

from ...stores.memory import InMemoryJobStore
from ..no_retry_limit import NoRetryLimitStore
from .harness import (
    EMAILS_FAIL,
    MIXED_JOBS,
    Sides,
    broken_store_side,
    create,
    real_store_side,
    scenario,
    sweep_and_work,
)

RETRY_SWEEPS = 8


@scenario("no retry limit", "retry logic: no attempts < max_retries check")
def scenario_no_retry_limit(timeout: float) -> Sides:
    """Retries: an email that always fails, swept eight times, with and without the limit."""
    broken, correct = NoRetryLimitStore(), InMemoryJobStore()
    ids = create(broken, MIXED_JOBS[:2], max_retries=3)
    create(correct, MIXED_JOBS[:2], max_retries=3)
    sweep = partial(sweep_and_work, handler=EMAILS_FAIL, sweeps=RETRY_SWEEPS, timeout=timeout)
    broken_lines, correct_lines = sweep(broken), sweep(correct)
    return Sides(
        broken_store_side(
            "Sweeper on NoRetryLimitStore",
            broken,
            "a failed job was retried past its limit, on every sweep",
            created=ids,
            output=tuple(broken_lines),
        ),
        real_store_side("Sweeper on InMemoryJobStore", correct, output=tuple(correct_lines)),
    )
