"""Checks for notebook 05, atomic updates and races: a claim that holds up under pressure."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from .feedback import Problems, attempt, limited

RACERS = 4
"""How many threads the claim check sends at one job at the same moment."""

RACES = 3

PATIENCE = 5.0
"""Seconds the claim check waits for a call of ``claim`` to return."""

CALL = "claim(statuses, lock, 'job-001')"
HANGS = f"{CALL} did not return within {PATIENCE:g} seconds: does it take the lock twice?"

RACE_HINT = (
    "Think about the moment between your read of the status and your write: what can the "
    "other threads do then, and what could stop them?"
)


class RaceWindow(dict):
    """A dict of statuses that holds every reader, once it has read, until all racers have read.

    After reading a status, a racer waits at a barrier for the others. Without a lock around
    "read, then write", every racer reads the old status before any of them writes, so the
    race happens on every run instead of once in a while. With the lock, only one racer can be
    between its read and its write: the barrier gives up after ``patience`` seconds and the
    racers go on one at a time, which is exactly what the lock is for.
    """

    def __init__(self, statuses: dict[str, str], racers: int, patience: float = 0.5) -> None:
        super().__init__(statuses)
        self._barrier = threading.Barrier(racers, timeout=patience)

    def __getitem__(self, key: str) -> str:
        status = super().__getitem__(key)
        self._wait_for_the_others()
        return status

    def get(self, key: str, default: Any = None) -> Any:
        status = super().get(key, default)
        self._wait_for_the_others()
        return status

    def _wait_for_the_others(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            self._barrier.wait()


def check_claim(claim: Callable[[dict[str, str], threading.Lock, str], bool]) -> Problems:
    """``claim(statuses, lock, job_id)`` claims a job safely from many threads.

    ``statuses`` maps job ids to status strings. ``claim`` moves a "pending" job to
    "processing" and returns True, or returns False and changes nothing when the job is not
    pending. Four threads then claim one pending job at the same moment, with the race window
    held open: exactly one may win, however often it is tried.
    """
    problems: Problems = []
    for status, expected in (("pending", True), ("completed", False), ("failed", False)):
        statuses = {"job-001": status}
        answer, problem = _call_with_patience(claim, statuses, threading.Lock())
        after = statuses.get("job-001")
        wanted = "processing" if expected else status
        if problem == HANGS:
            return [problem]
        if problem is not None:
            problems.append(problem)
        elif answer is not expected or after != wanted:
            problems.append(
                f"claiming a {status} job returned {answer!r} and left it {after}; "
                f"it should return {expected} and leave it {wanted}"
            )
    if problems:
        return problems
    for _ in range(RACES):
        answers, problems, final = _race(claim)
        if problems:
            return limited(list(dict.fromkeys(problems)))
        winners = sum(1 for answer in answers if answer is True)
        if winners != 1:
            who = "none" if winners == 0 else "more than one"
            return [
                f"{RACERS} workers claimed job-001 at the same moment and {who} of them won; "
                f"exactly one may. {RACE_HINT}"
            ]
        if final != "processing":
            return [f"after the race job-001 is {final}; the winner should leave it processing"]
    return []


def _race(claim: Callable[..., Any]) -> tuple[list[Any], Problems, str]:
    """Let ``RACERS`` threads claim job-001 at once; their answers, problems, final status."""
    statuses = RaceWindow({"job-001": "pending"}, RACERS)
    lock = threading.Lock()
    answers: list[Any] = []
    problems: Problems = []

    def racer() -> None:
        answer, problem = attempt(claim, statuses, lock, "job-001", call=CALL)
        answers.append(answer)
        if problem is not None:
            problems.append(problem)

    threads = [threading.Thread(target=racer, daemon=True) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PATIENCE)
    if any(thread.is_alive() for thread in threads):
        problems.append(HANGS)
    return answers, problems, dict.get(statuses, "job-001")


def _call_with_patience(
    claim: Callable[..., Any], statuses: dict[str, str], lock: threading.Lock
) -> tuple[Any, str | None]:
    """Call ``claim`` once on a thread of its own, so a claim that never returns is reported."""
    outcome: list[tuple[Any, str | None]] = []
    thread = threading.Thread(
        target=lambda: outcome.append(attempt(claim, statuses, lock, "job-001", call=CALL)),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=PATIENCE)
    return outcome[0] if outcome else (None, HANGS)
