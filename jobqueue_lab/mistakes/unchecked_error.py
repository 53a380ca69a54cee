"""Mistake 4: reading ``last_error`` without checking for ``None`` first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..checks import JobLike


def error_lines_unchecked(jobs: Iterable[JobLike]) -> Iterator[str]:
    """Mistake 4: one line per job with the first line of its error, assuming there is one.

    ``last_error`` is ``None`` for a job that has not failed, so this crashes with
    ``AttributeError`` at the first such job (Go panics on the nil pointer the same way).
    Correct counterpart: ``baseline.error_lines``.
    """
    for job in jobs:
        yield f"{job.id}: {job.last_error.splitlines()[0]}"
