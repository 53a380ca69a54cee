"""Backoff: how long a failed job waits before the sweeper may retry it.

Retrying at once suits a hiccup; a service that is down needs room to recover, so real queues
wait longer after each failure. A backoff policy is any callable ``policy(job) -> seconds``,
asked by the store when a job fails (``job.attempts`` is the attempt that just failed). The
store then sets ``job.retry_at``, and ``retry_failed_jobs`` passes over the job until then.

Jitter spreads retries out so that many jobs failing together do not all come back together.
Here it is deterministic, drawn from the job's id and attempt, so a lesson shows the same
gaps on every run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .domain import Job
from .validation import check_number

BackoffPolicy = Callable[[Job], float]

MAX_DELAY = 86_400.0
"""The longest delay any policy may ask for: a day."""


@dataclass(frozen=True)
class NoDelay:
    """Retry as soon as the sweeper next runs: the course's default."""

    def __call__(self, job: Job) -> float:
        return 0.0


@dataclass(frozen=True)
class Constant:
    """Wait the same ``seconds`` after every failure."""

    seconds: float

    def __call__(self, job: Job) -> float:
        return self.seconds


@dataclass(frozen=True)
class Exponential:
    """Wait ``base``, then ``base * factor``, ``base * factor**2``, ... seconds, at most ``cap``;
    with ``jitter`` j, each delay is moved by up to ±j of itself, the same way every run."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.0

    def __call__(self, job: Job) -> float:
        # An exponent past 64 only asks for the cap; stopping there keeps the float finite.
        delay = min(self.cap, self.base * self.factor ** min(job.attempts - 1, 64))
        if self.jitter:
            spread = random.Random(f"{job.id}:{job.attempts}").uniform(-1.0, 1.0)
            delay *= 1.0 + self.jitter * spread
        # Jitter may lift a delay above the cap; never above what the store accepts.
        return min(delay, MAX_DELAY)


def no_delay() -> NoDelay:
    """Retry failed jobs at the next sweep."""
    return NoDelay()


def constant(seconds: float) -> Constant:
    """Wait ``seconds`` after each failure."""
    return Constant(check_number(seconds, "seconds", minimum=0, maximum=MAX_DELAY))


def exponential(
    base: float = 1.0, factor: float = 2.0, cap: float = 60.0, jitter: float = 0.0
) -> Exponential:
    """Wait ``base * factor**(attempt - 1)`` seconds, at most ``cap``, moved by up to ±``jitter``
    of itself (0 to 1)."""
    return Exponential(
        check_number(base, "base", minimum=0, maximum=MAX_DELAY),
        check_number(factor, "factor", minimum=1, maximum=1_000),
        check_number(cap, "cap", minimum=0, maximum=MAX_DELAY),
        check_number(jitter, "jitter", minimum=0, maximum=1),
    )
