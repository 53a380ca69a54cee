"""Scenario for the sweeper pattern: a worker that retries at once, one that waits for sweeps."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from functools import partial

from ...checks import RunLog, Violation, find_violations
from ...stores.memory import InMemoryJobStore
from ...worker import Worker
from ..self_retrying_worker import SelfRetryingWorker
from .harness import (
    EMAILS_FAIL,
    MIXED_JOBS,
    Sides,
    broken_side,
    correct_side,
    create,
    rows,
    scenario,
    sweep_and_work,
)

RETRY_STORM = "retried without the sweeper"

STORM_SWEEPS = 5
STORM_TRIES = 20


@scenario("worker retries itself", "sweeper pattern: the worker retries instead of the sweeper")
def scenario_worker_retries_itself(timeout: float) -> Sides:
    """The sweeper pattern: the same jobs and sweeps, with a worker that retries at once and
    with the real worker that leaves retrying to the sweeper."""
    broken_evidence, broken = _sweep_with(partial(SelfRetryingWorker, tries=STORM_TRIES), timeout)
    correct_evidence, correct = _sweep_with(Worker, timeout)
    return Sides(
        broken_side(
            f"SelfRetryingWorker(tries={STORM_TRIES})",
            broken_evidence,
            "a failing job ran in bursts, at once and past its limit",
            jobs=rows(broken.list_jobs()),
        ),
        correct_side("Worker", correct_evidence, jobs=rows(correct.list_jobs())),
    )


def _sweep_with(
    worker: Callable[..., Worker], timeout: float
) -> tuple[list[Violation], InMemoryJobStore]:
    """An email that always fails and a report, swept ``STORM_SWEEPS`` times on the real store,
    worked off by ``worker``; the evidence, and the store."""
    store, log = InMemoryJobStore(), RunLog()
    create(store, MIXED_JOBS[:2], max_retries=3)
    handler = log.watch(EMAILS_FAIL)
    sweep_and_work(store, handler, sweeps=STORM_SWEEPS, timeout=timeout, log=log, worker=worker)
    found = find_violations(store.list_jobs(), store.transitions(), handler_runs=log.runs)
    return found + _bursts(log), store


def _bursts(log: RunLog) -> list[Violation]:
    """Runs of one job with no sweep between them: each after the first is a retry the sweeper
    did not make."""
    per_gap: dict[tuple[str, int], int] = defaultdict(int)
    for run in log.runs:
        per_gap[run.job_id, bisect_right(log.sweeps, run.started)] += 1
    worst: dict[str, int] = {}
    for (job_id, _gap), count in per_gap.items():
        worst[job_id] = max(worst.get(job_id, 0), count)
    return [
        Violation(RETRY_STORM, job_id, f"{count} runs in a row with no sweep between them")
        for job_id, count in sorted(worst.items())
        if count > 1
    ]
