"""Scenario for mistake 4, reading a missing error: two reports of the same finished jobs."""

from __future__ import annotations

from collections.abc import Iterator

from ...checks import Violation
from ...domain import Job
from ...stores.memory import InMemoryJobStore
from ...worker import describe_failure
from ..baseline import error_lines
from ..unchecked_error import error_lines_unchecked
from .harness import Sides, broken_side, correct_side, rows, scenario, work_mixed_jobs

CRASHED_READING_ERROR = "crashed reading last_error"


@scenario("missing error read", "mistake 4: using last_error without checking for None")
def scenario_reading_missing_error(timeout: float) -> Sides:
    """Mistake 4: two reports of the same finished jobs, one that checks for ``None``."""
    store = InMemoryJobStore()
    work_mixed_jobs(store, timeout)
    jobs = store.list_jobs()
    unchecked_lines, unchecked_evidence = _read_report(error_lines_unchecked(jobs), jobs)
    checked_lines, checked_evidence = _read_report(error_lines(jobs), jobs)
    return Sides(
        broken_side(
            "error_lines_unchecked",
            unchecked_evidence,
            "the report crashed on a job with no error",
            jobs=rows(jobs),
            output=unchecked_lines,
        ),
        correct_side("error_lines", checked_evidence, jobs=rows(jobs), output=checked_lines),
    )


def _read_report(lines: Iterator[str], jobs: list[Job]) -> tuple[tuple[str, ...], list[Violation]]:
    """Every line the report gives, and a piece of evidence if it crashed before the end."""
    read: list[str] = []
    try:
        read.extend(lines)
    except Exception as exc:
        crash = describe_failure(exc)
        return (*read, f"crashed: {crash}"), [
            Violation(CRASHED_READING_ERROR, jobs[len(read)].id, crash)
        ]
    return tuple(read), []
