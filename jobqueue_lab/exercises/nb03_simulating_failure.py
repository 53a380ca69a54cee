"""Checks for notebook 03, simulating failure: a deterministic failure policy of your own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import InMemoryJobStore, Job, WorkerPool, simulated_work
from .feedback import Problems, attempt, broken_rules, limited

REPORT_CASES: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("report", {"pages": 250}, True),
    ("report", {"pages": 101}, True),
    ("report", {"pages": 100}, False),
    ("report", {"pages": 3}, False),
    ("report", {}, False),
    ("email", {"pages": 500}, False),
    ("email", {"to": "ada@example.org"}, False),
)
"""Jobs for the policy check: type, payload, and whether the policy should fail them."""

SETTLE_SECONDS = 10

MISSING_KEY_HINT = (
    'not every payload has "pages", and a policy has to answer for every job without raising'
)
DETERMINISM_HINT = (
    "a policy must decide from the job alone (its type, payload and attempt number), never "
    "from chance, the clock or what it was asked before, so that every run fails the same jobs"
)
ANSWER_HINT = "a policy answers with a reason (a non-empty string) or None"


def check_fail_big_reports(fail_big_reports: Callable[[Job], str | None]) -> Problems:
    """A failure policy for report jobs of more than 100 pages.

    The check asks the policy about the same fixed jobs in two runs, one after the other, and
    the two runs must agree. The policy returns a reason (a non-empty str) for report jobs of
    more than 100 pages, and ``None`` for every other job, including jobs with no "pages" in
    their payload. Then a pool run with it must keep every invariant.
    """
    store = InMemoryJobStore()
    jobs = [
        (store.create_job(job_type, payload), should_fail)
        for job_type, payload, should_fail in REPORT_CASES
    ]
    runs = [_ask_each(fail_big_reports, [job for job, _ in jobs]) for _ in range(2)]
    problems = []
    for (job, should_fail), first, second in zip(jobs, *runs):
        described = f"the {job.type} job with payload {dict(job.payload)}"
        (answer, crashed), (again, crashed_again) = first, second
        if crashed is not None or crashed_again is not None:
            problems.append(f"for {described}: {crashed or crashed_again}")
        elif answer != again:
            problems.append(
                f"for {described} the two runs disagreed: first {answer!r}, then {again!r}. "
                f"Hint: {DETERMINISM_HINT}"
            )
        else:
            problem = _wrong_answer(described, answer, should_fail)
            if problem is not None:
                problems.append(problem)
    if problems:
        return limited(problems)
    with WorkerPool(workers=2, handler=simulated_work(fail=fail_big_reports)) as pool:
        for job_type, payload, _ in REPORT_CASES:
            pool.submit(job_type, payload, max_retries=1)
        if not pool.wait(timeout=SETTLE_SECONDS):
            return [
                f"a pool run with your policy did not settle within {SETTLE_SECONDS} seconds; "
                "the machine may be busy, so run the check again"
            ]
    return broken_rules(pool.store)


def _ask_each(policy: Callable[[Job], str | None], jobs: list[Job]) -> list[tuple[Any, str | None]]:
    """One run: the policy's ``(answer, problem)`` for each job, in order."""
    return [attempt(policy, job, hints={KeyError: MISSING_KEY_HINT}) for job in jobs]


def _wrong_answer(described: str, answer: Any, should_fail: bool) -> str | None:
    """What is wrong with the policy's answer for one job, or ``None`` when it is right."""
    if answer is not None and not isinstance(answer, str):
        return f"for {described} it returned {answer!r}; {ANSWER_HINT}"
    if should_fail and not (answer and answer.strip()):
        return f"{described} should fail, with a message, but it returned {answer!r}"
    if not should_fail and answer is not None:
        hint = " (no error is None, never an empty string)" if not answer.strip() else ""
        return f"{described} should succeed (return None) but got {answer!r}{hint}"
    return None
