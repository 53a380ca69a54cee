"""Scenario for mistake 5, random failures: the same jobs run three times, by coin and by rule."""

from __future__ import annotations

import itertools

from ...checks import Violation
from ...failures import FailurePolicy, fail_by_type, simulated_work
from ...stores.memory import InMemoryJobStore
from ..random_failure import RandomFailure
from .harness import Sides, broken_side, correct_side, create, scenario, work_off

OUTCOME_CHANGED = "outcome changed between runs"

RANDOM_RUNS = 3
RANDOM_RUN_JOBS = 64
"""Each run decides 64 independent fair coins, so two runs agree with probability 2**-64, and
some two of three runs agree with probability at most 3 * 2**-64 (about 1.6e-19). The broken
side differs on every run "for certain" in that sense; nothing else here depends on chance."""


@scenario("random failures", "mistake 5: random failure simulation")
def scenario_random_failure(timeout: float) -> Sides:
    """Mistake 5: the same 64 jobs, three runs with a coin-flip policy and three with a fixed one.

    The jobs of each run are not listed (they would differ every time the notebook ran);
    ``runs`` holds every job's status, run by run, for a chart.
    """
    coin_runs = tuple(_one_run(RandomFailure(), timeout) for _ in range(RANDOM_RUNS))
    fixed_runs = tuple(_one_run(fail_by_type("email"), timeout) for _ in range(RANDOM_RUNS))
    return Sides(
        broken_side(
            "RandomFailure (unseeded)",
            _differences(coin_runs),
            "the same scenario failed different jobs on every run",
            output=_distinct_outcomes(coin_runs),
            runs=coin_runs,
        ),
        correct_side(
            'fail_by_type("email")',
            _differences(fixed_runs),
            output=_distinct_outcomes(fixed_runs),
            runs=fixed_runs,
        ),
    )


def _one_run(policy: FailurePolicy, timeout: float) -> tuple[str, ...]:
    kinds = ("email", "report", "resize", "invoice")
    store = InMemoryJobStore()
    jobs = [(kinds[n % len(kinds)], {"n": n}) for n in range(RANDOM_RUN_JOBS)]
    ids = create(store, jobs, max_retries=1)
    work_off(store, simulated_work(fail=policy), ids, timeout=timeout)
    return tuple(job.status.value for job in store.list_jobs())


def _differences(runs: tuple[tuple[str, ...], ...]) -> list[Violation]:
    return [
        Violation(OUTCOME_CHANGED, None, f"run {a + 1} and run {b + 1} failed different jobs")
        for a, b in itertools.combinations(range(len(runs)), 2)
        if runs[a] != runs[b]
    ]


def _distinct_outcomes(runs: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    return (f"{len(runs)} runs of {len(runs[0])} jobs: {len(set(runs))} different outcome(s)",)
