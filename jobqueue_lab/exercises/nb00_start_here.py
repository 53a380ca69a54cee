"""Checks for notebook 00, start here: a first run of your own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from ..domain import JobStatus
from ..stores.memory import InMemoryJobStore
from .feedback import Problems, attempt, broken_rules, described, limited

WANTED = {"report": 3, "email": 2}
"""How many jobs of each type the run should submit."""

ATTEMPTS_ALLOWED = 2

ENDINGS = {
    "report": (JobStatus.COMPLETED, 1, "reports should complete on their first attempt"),
    "email": (
        JobStatus.FAILED,
        ATTEMPTS_ALLOWED,
        f"email jobs should fail, and be tried {ATTEMPTS_ALLOWED} times in all "
        f"(max_retries={ATTEMPTS_ALLOWED})",
    ),
}
"""How each type of job should end: its status, the attempts it used, and why, in words."""

NOT_SETTLED = (
    "some jobs were still waiting or running when first_run() returned: keep the "
    "pool.wait(timeout=10) line inside the with block. If it is there, the machine was too "
    "busy to finish in 10 seconds; run the check again."
)


def check_first_run(first_run: Callable[[], InMemoryJobStore]) -> Problems:
    """A run of three "report" jobs and two "email" jobs, emails always failing.

    ``first_run()`` returns the store after the run: five jobs, emails failed after two
    attempts each, reports completed after one, and no invariant broken.
    """
    store, problem = attempt(first_run, call="first_run()")
    if problem is not None:
        return [problem]
    if not isinstance(store, InMemoryJobStore):
        return [f"first_run() should return the pool's store, but returned {described(store)}"]
    if not store.all_settled():
        return [NOT_SETTLED]
    jobs = store.list_jobs()
    found = Counter(job.type for job in jobs)
    problems = []
    if found != Counter(WANTED):
        problems.append(f"expected {_how_many(WANTED)}, found {_how_many(found)}")
    for job in jobs:
        if job.type not in ENDINGS:
            continue
        status, attempts, why = ENDINGS[job.type]
        if (job.status, job.attempts) != (status, attempts):
            problems.append(
                f"{job.id} ({job.type}) is {job.status.value} after {job.attempts} "
                f"attempt(s): {why}"
            )
    problems += broken_rules(store)
    return limited(problems)


def _how_many(counts: Mapping[str, int]) -> str:
    """``{"report": 3, "email": 1}`` as "3 report jobs and 1 email job"."""
    parts = [f"{n} {job_type} job{'' if n == 1 else 's'}" for job_type, n in counts.items()]
    if len(parts) < 2:
        return parts[0] if parts else "no jobs"
    return f"{', '.join(parts[:-1])} and {parts[-1]}"
