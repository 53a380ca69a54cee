"""Where the time goes per job: each bookkeeping step timed on its own, on one thread.

A whole run mixes the steps with threads waiting for each other. Timing ``n`` creates, then
``n`` claims, then ``n`` completions, with no other thread running, shows what each step
costs by itself; the whole job through a one-worker pool, minus these, is what the queue,
the handler call and the threads handing jobs over add.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..harness.timing import seconds


@dataclass(frozen=True)
class StepTimes:
    """Microseconds per job for each step, on one thread."""

    create: float
    claim: float
    complete: float

    @property
    def total(self) -> float:
        return self.create + self.claim + self.complete


def time_steps(
    create: Callable[[], str],
    claim: Callable[[str], object],
    complete: Callable[[str], object],
    jobs: int,
) -> StepTimes:
    """Time ``jobs`` calls of each step in turn; the garbage collector runs as it would."""
    ids: list[str] = []
    create_seconds = seconds(lambda: ids.extend(create() for _ in range(jobs)))
    claim_seconds = seconds(lambda: [claim(job_id) for job_id in ids])
    complete_seconds = seconds(lambda: [complete(job_id) for job_id in ids])
    per_job = 1e6 / jobs
    return StepTimes(create_seconds * per_job, claim_seconds * per_job, complete_seconds * per_job)
