"""Deterministic failure simulation: decide from the job itself whether an attempt fails.

A policy is any callable ``policy(job) -> str | None``: the failure message, or ``None`` when
the attempt succeeds. Policies here look only at the job (its type, attempt number, payload),
never at a random number generator or the clock, so the same scenario fails the same way on
every run and a lesson shows the same thing to every learner.

The policies are small frozen dataclasses rather than closures so that they print as what
they are (``FailByType(types=('email',), ...)``), which keeps notebook output readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .domain import Job
from .validation import check_callable, check_int, check_number, check_text
from .worker import heartbeat, heartbeat_interval, stop_requested

FailurePolicy = Callable[[Job], "str | None"]


class SimulatedFailure(Exception):
    """Raised by simulated work when its failure policy says this attempt fails."""


class WorkInterrupted(Exception):
    """Raised by simulated work that was cut short because its worker pool is stopping."""


@dataclass(frozen=True)
class FailByType:
    """Every attempt of a job whose type is listed fails (the seed's "email jobs fail")."""

    types: tuple[str, ...]
    message: str = "{type} jobs always fail in this simulation"

    def __call__(self, job: Job) -> str | None:
        return self.message.format(type=job.type) if job.type in self.types else None


@dataclass(frozen=True)
class FailEveryNthAttempt:
    """Attempt number n, 2n, 3n, ... of every job fails; the others succeed."""

    n: int

    def __call__(self, job: Job) -> str | None:
        if job.attempts % self.n == 0:
            return (
                f"attempt {job.attempts} fails: every attempt numbered a multiple of {self.n} fails"
            )
        return None


@dataclass(frozen=True)
class FailOnPayload:
    """A job fails when ``text`` appears in its payload written as JSON."""

    text: str

    def __call__(self, job: Job) -> str | None:
        if self.text in job.payload_json():
            return f"payload contains {self.text!r}"
        return None


@dataclass(frozen=True)
class FailUntilAttempt:
    """A transient failure: attempts before number ``n`` fail, attempt ``n`` and later succeed."""

    n: int

    def __call__(self, job: Job) -> str | None:
        if job.attempts < self.n:
            return f"temporary failure on attempt {job.attempts} (succeeds from attempt {self.n})"
        return None


@dataclass(frozen=True)
class FirstFailure:
    """Combine policies: the attempt fails with the message of the first policy that fails it."""

    policies: tuple[FailurePolicy, ...]

    def __call__(self, job: Job) -> str | None:
        for policy in self.policies:
            message = policy(job)
            if message is not None:
                return message
        return None


def never_fail(job: Job) -> None:
    """The policy under which every attempt succeeds."""
    return None


def fail_by_type(*types: str, message: str = FailByType.message) -> FailByType:
    """Fail every attempt of jobs of the given types. ``{type}`` in the message is filled in."""
    if not types:
        raise ValueError("fail_by_type needs one or more job type names")
    for job_type in types:
        check_text(job_type, "job type")
    check_text(message, "message")
    return FailByType(types=tuple(types), message=message)


def fail_every_nth_attempt(n: int) -> FailEveryNthAttempt:
    """Fail attempts numbered n, 2n, 3n, ... (``n=1`` fails every attempt)."""
    return FailEveryNthAttempt(check_int(n, "n", minimum=1))


def fail_on_payload(text: str) -> FailOnPayload:
    """Fail jobs whose payload, written as JSON, contains ``text``."""
    return FailOnPayload(check_text(text, "text"))


def fail_until_attempt(n: int) -> FailUntilAttempt:
    """Fail every attempt before attempt ``n``; succeed from attempt ``n`` on."""
    return FailUntilAttempt(check_int(n, "n", minimum=1))


def combine(*policies: FailurePolicy) -> FirstFailure:
    """One policy from several: an attempt fails if any of them fails it (first message wins)."""
    for policy in policies:
        check_callable(policy, "each policy", "with a job")
    return FirstFailure(tuple(policies))


@dataclass(frozen=True)
class SimulatedWork:
    """A job handler that takes ``seconds`` of pretend work, then fails if ``fail`` says so.

    While it works it sends heartbeats, as a real long job should, so its lease never runs out.
    The wait ends early when the worker's pool is stopping, or when a heartbeat finds the job
    lost; the handler then raises ``WorkInterrupted`` instead of finishing.
    """

    seconds: float = 0.0
    fail: FailurePolicy | None = None

    def __call__(self, job: Job) -> None:
        self._work(self.seconds)
        message = self.fail(job) if self.fail is not None else None
        if message is not None:
            raise SimulatedFailure(message)

    @staticmethod
    def _work(seconds: float) -> None:
        if seconds <= 0:
            return
        stop = stop_requested()
        beat = heartbeat_interval() or seconds
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if stop.wait(min(left, beat)):
                raise WorkInterrupted("stopped before the work finished: the worker pool shut down")
            if not heartbeat():
                raise WorkInterrupted("lost the job: its lease ran out and another claim holds it")


def simulated_work(seconds: float = 0.0, fail: FailurePolicy | None = None) -> SimulatedWork:
    """Build a handler for ``WorkerPool``: wait ``seconds``, then fail as ``fail`` decides."""
    seconds = check_number(seconds, "seconds", minimum=0, maximum=MAX_WORK_SECONDS)
    if fail is not None:
        check_callable(fail, "fail", "with a job (a failure policy)")
    return SimulatedWork(seconds, fail)


MAX_WORK_SECONDS = 3600.0
"""The longest pretend work accepted: an hour is far more than any lesson needs."""
