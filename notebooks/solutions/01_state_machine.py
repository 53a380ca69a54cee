"""Worked solution for notebook 01, exercise "is this path legal?"."""

from itertools import pairwise

from jobqueue_lab import JobStatus, can_transition


def is_legal_path(path: list[JobStatus]) -> bool:
    """True when every step of the path is in the transition table.

    A path with no steps is legal: there is nothing in it the table could forbid.
    """
    return all(can_transition(before, after) for before, after in pairwise(path))
