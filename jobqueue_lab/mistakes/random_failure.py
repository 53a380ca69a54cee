"""Mistake 5: failures simulated by flipping an unseeded coin, so every run fails different jobs."""

from __future__ import annotations

import random

from ..checks import JobLike
from ..validation import check_number


class RandomFailure:
    """Mistake 5: a failure policy that flips a coin, with ``random.Random()`` and no seed.

    Each run fails different jobs, so a lesson shows something different every time, a test
    that passed may fail on the next run, and a retry that "fixed" a job may only have been
    lucky. Correct counterpart: the policies in ``failures`` (``fail_by_type`` and the rest),
    which decide from the job alone.
    """

    def __init__(self, rate: float = 0.5) -> None:
        self.rate = check_number(rate, "rate", minimum=0, maximum=1)
        self._random = random.Random()

    def __call__(self, job: JobLike) -> str | None:
        if self._random.random() < self.rate:
            return "the coin came up 'fail'"
        return None

    def __repr__(self) -> str:
        return f"RandomFailure(rate={self.rate})"
