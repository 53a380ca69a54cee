"""Checks for notebook 01, the state machine: is this path legal?"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ..domain import JobStatus, can_transition
from .feedback import Problems, attempt, limited

PENDING, PROCESSING, COMPLETED, FAILED = (
    JobStatus.PENDING,
    JobStatus.PROCESSING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
)

PATHS: tuple[tuple[JobStatus, ...], ...] = (
    (),
    (PENDING,),
    (PENDING, PROCESSING),
    (PENDING, PROCESSING, COMPLETED),
    (PENDING, PROCESSING, FAILED),
    (PENDING, PROCESSING, FAILED, PENDING, PROCESSING, COMPLETED),
    (PENDING, COMPLETED),
    (PENDING, PROCESSING, PENDING),
    (PENDING, PROCESSING, COMPLETED, PENDING),
    (PENDING, PROCESSING, FAILED, PROCESSING),
    (PENDING, PROCESSING, PROCESSING),
    (FAILED, PENDING),
    (COMPLETED, FAILED),
)
"""The paths the check asks about: legal ones, and ones with one step the table forbids."""


def check_is_legal_path(is_legal_path: Callable[[list[JobStatus]], bool]) -> Problems:
    """``is_legal_path(path)`` says whether every step of a path is in the table.

    A path is a list of statuses; an empty path and a path of one status have no steps, so
    they are legal.
    """
    problems = []
    for path in PATHS:
        answer, problem = attempt(is_legal_path, list(path))
        if problem is not None:
            problems.append(problem)
            continue
        bad_step = _first_illegal_step(path)
        if answer is not (bad_step is None):
            why = f"{bad_step} is not in the table" if bad_step else "every step is in the table"
            problems.append(
                f"for {_path_text(path)} it returned {answer!r}, but {why}"
                + ("" if isinstance(answer, bool) else " (return True or False)")
            )
    return limited(problems)


def _path_text(path: Sequence[JobStatus]) -> str:
    return " -> ".join(status.value for status in path) or "an empty path"


def _first_illegal_step(path: Sequence[JobStatus]) -> str | None:
    for before, after in itertools.pairwise(path):
        if not can_transition(before, after):
            return f"{before.value} -> {after.value}"
    return None
