"""Checks for notebook 06, atomic updates and races: a claim that holds up under pressure."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .feedback import Problems, attempt, limited, wrong_claim

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


def kept_the_lock(status: str) -> str:
    return (
        f"claiming a {status} job returned with the lock still taken, so the next claim would "
        "wait for it for ever. Whatever way claim returns, the lock must be free again"
    )


@dataclass
class _Racer:
    """One racer as the race window sees it."""

    holds_lock: bool = False
    unwritten_read: bool = False  # it has read a status and not written since
    read_under_lock: bool = False  # ... and has held the lock ever since that read


class RaceWindow:
    """Holds open the moment between each racer's read of the status and its write.

    A racer that has read may not write until every racer has read, unless it has held the
    lock ever since its read; a racer that lets go of the lock between its read and its write
    waits, as soon as it has let go, until every racer has read. So code that keeps one lock
    from the read to the write is never held, and any other code has every racer read the old
    status before any of them writes: the race happens on every run, not once in a while. A
    wait gives up after ``patience`` seconds, and from then on nobody waits.
    """

    def __init__(self, racers: int, patience: float = 0.5) -> None:
        self._racers = racers
        self._patience = patience
        self._readers: set[threading.Thread] = set()
        self._state: dict[threading.Thread, _Racer] = {}
        self._changed = threading.Condition()
        self._given_up = False

    def _me(self) -> _Racer:
        with self._changed:
            return self._state.setdefault(threading.current_thread(), _Racer())

    def has_read(self) -> None:
        me = self._me()
        me.unwritten_read, me.read_under_lock = True, me.holds_lock
        with self._changed:
            self._readers.add(threading.current_thread())
            self._changed.notify_all()

    def before_write(self) -> None:
        me = self._me()
        if me.unwritten_read and not me.read_under_lock:
            self._wait_until_all_have_read()
        me.unwritten_read = False

    def lock_taken(self) -> None:
        self._me().holds_lock = True

    def lock_let_go(self) -> None:
        me = self._me()
        me.holds_lock = False
        if me.unwritten_read and me.read_under_lock:
            me.read_under_lock = False
            self._wait_until_all_have_read()

    def _wait_until_all_have_read(self) -> None:
        with self._changed:
            if not self._given_up:
                everyone = self._changed.wait_for(
                    lambda: len(self._readers) >= self._racers, self._patience
                )
                self._given_up = not everyone


class WatchedStatuses(dict):
    """The dict of statuses the racers share; it tells the race window of every read and write."""

    def __init__(self, statuses: dict[str, str], window: RaceWindow) -> None:
        super().__init__(statuses)
        self._window = window

    def __getitem__(self, key: str) -> str:
        status = super().__getitem__(key)
        self._window.has_read()
        return status

    def get(self, key: str, default: Any = None) -> Any:
        status = super().get(key, default)
        self._window.has_read()
        return status

    def __setitem__(self, key: str, value: str) -> None:
        self._window.before_write()
        super().__setitem__(key, value)


class WatchedLock:
    """A ``threading.Lock`` that tells the race window when a racer takes it and lets it go."""

    def __init__(self, window: RaceWindow) -> None:
        self._lock = threading.Lock()
        self._window = window

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        taken = self._lock.acquire(blocking, timeout)
        if taken:
            self._window.lock_taken()
        return taken

    def release(self) -> None:
        self._lock.release()
        self._window.lock_let_go()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: Any) -> None:
        self.release()


def check_claim(claim: Callable[[dict[str, str], threading.Lock, str], bool]) -> Problems:
    """``claim(statuses, lock, job_id)`` claims a job safely from many threads.

    ``statuses`` maps job ids to status strings. ``claim`` moves a "pending" job to
    "processing" and returns True, or returns False and changes nothing when the job is not
    pending. Four threads then claim one pending job at the same moment, with the race window
    held open: exactly one may win, however often it is tried.
    """
    problems: Problems = []
    for status, expected in (("pending", True), ("completed", False), ("failed", False)):
        statuses, lock = {"job-001": status}, threading.Lock()
        answer, problem = _call_with_patience(claim, statuses, lock)
        after = statuses.get("job-001")
        wanted = "processing" if expected else status
        if problem == HANGS:
            return [problem]
        if problem is not None:
            problems.append(problem)
        elif lock.locked():
            return [kept_the_lock(status)]
        elif answer is not expected or after != wanted:
            problems.append(wrong_claim(status, answer, after, expected))
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
    window = RaceWindow(RACERS)
    statuses = WatchedStatuses({"job-001": "pending"}, window)
    lock = WatchedLock(window)
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
