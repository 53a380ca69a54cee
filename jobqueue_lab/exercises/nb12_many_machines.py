"""Checks for notebook 12, many machines: a claim in one SQL statement, safe when many
processes send it at once."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .feedback import Problems, attempt, limited, wrong_claim

RACERS = 4
"""How many connections the claim check sends at one job at the same moment."""

RACES = 3

PATIENCE = 5.0
"""Seconds the claim check waits for the racers before it reports that they hang."""

BUSY_TIMEOUT = 10.0
"""Seconds a connection of the claim check waits for another's write lock before failing."""

CALL = "claim(db, 'job-001')"

DEFERRED_BEGINS = {"BEGIN", "BEGIN TRANSACTION", "BEGIN DEFERRED", "BEGIN DEFERRED TRANSACTION"}
LOCKED_HINT = (
    "A plain BEGIN takes no lock until the transaction first writes, so every racer read "
    "'pending' first, and then each wanted to write while the others still held what they had "
    "read: SQLite refuses all but one of them with 'database is locked'. BEGIN IMMEDIATE takes "
    "the write lock at once: the other racers then wait at their own BEGIN until the first "
    "transaction has ended, and read what it wrote"
)

RACE_HINT = (
    "Each connection read 'pending' before any of them wrote, so each decided the job was its "
    "own. Can the UPDATE itself make sure the job is still pending when it writes, and tell "
    "you whether it changed anything?"
)


class HeldConnection:
    """A sqlite3 connection that holds its caller after every ``SELECT`` until the others have
    read too, so that a read followed by a write is raced on every run, not once in a while.

    A racer inside a write transaction (``BEGIN IMMEDIATE``) keeps the others out, so they never
    arrive: the meeting gives up after a moment and the racers go on one at a time, which is
    exactly what that transaction is for.
    """

    def __init__(self, db: sqlite3.Connection, all_have_read: threading.Barrier) -> None:
        self._db = db
        self._all_have_read = all_have_read
        self.began_deferred = False

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        statement = " ".join(sql.upper().rstrip("; \n").split())
        if statement.startswith("BEGIN"):
            self.began_deferred = statement in DEFERRED_BEGINS
        cursor = self._db.execute(sql, parameters)
        if sql.lstrip().upper().startswith("SELECT"):
            rows = cursor.fetchall()
            with contextlib.suppress(threading.BrokenBarrierError):
                self._all_have_read.wait()
            return _Rows(cursor, rows)
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def __enter__(self) -> HeldConnection:
        self._db.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self._db.__exit__(*exc_info)


class _Rows:
    """The rows of a ``SELECT`` that were read before the racers met, served like a cursor."""

    def __init__(self, cursor: sqlite3.Cursor, rows: list[tuple]) -> None:
        self._rows = iter(rows)
        self.rowcount, self.description = cursor.rowcount, cursor.description

    def fetchone(self) -> tuple | None:
        return next(self._rows, None)

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def __iter__(self):
        return self._rows


def check_claim(claim: Callable[[Any, str], Any]) -> Problems:
    """``claim(db, job_id)`` claims a job from a table ``jobs(id, status)`` safely, when many
    processes, each with a connection of its own, claim at once.

    ``claim`` moves a "pending" job to "processing" and returns True, or returns False and
    changes nothing. Single claims come first; then ``RACERS`` connections (as that many
    processes would have) claim one pending job at the same moment, with every read held until
    all have read: exactly one may win, every time.
    """
    if not callable(claim):
        return [f"claim is not a function (it is a {type(claim).__name__})"]
    with tempfile.TemporaryDirectory(prefix="jobqueue-lab-exercise-") as folder:
        path = Path(folder) / "jobs.db"
        problems: Problems = []
        for status, expected in (("pending", True), ("completed", False), ("failed", False)):
            _table(path, status)
            with _connection(path) as db:
                answer, problem = attempt(claim, db, "job-001", call=CALL)
            after = _status(path)
            wanted = "processing" if expected else status
            if problem is not None:
                problems.append(problem)
            elif bool(answer) is not expected or after != wanted:
                problems.append(wrong_claim(status, answer, after, expected))
        if problems:
            return problems
        for _ in range(RACES):
            _table(path, "pending")
            answers, problems = _race(claim, path)
            if problems:
                return limited(list(dict.fromkeys(problems)))
            winners = sum(1 for answer in answers if answer)
            if winners != 1:
                who = "none" if winners == 0 else f"{winners}"
                return [
                    f"{RACERS} connections claimed job-001 at the same moment and {who} of them "
                    f"won; exactly one may. {RACE_HINT}"
                ]
            if _status(path) != "processing":
                return [
                    f"after the race job-001 is {_status(path)}; the winner leaves it processing"
                ]
    return []


def _race(claim: Callable[..., Any], path: Path) -> tuple[list[Any], Problems]:
    """Let ``RACERS`` connections claim job-001 at once; their answers, and any problems."""
    all_have_read = threading.Barrier(RACERS, timeout=0.5)
    answers: list[Any] = []
    problems: Problems = []
    connections = [_connection(path) for _ in range(RACERS)]

    def racer(db: sqlite3.Connection) -> None:
        held = HeldConnection(db, all_have_read)
        answer, problem = attempt(claim, held, "job-001", call=CALL)
        answers.append(answer if problem is None else None)
        if problem is not None:
            if db.in_transaction:  # a failed claim's transaction would keep the others waiting
                db.rollback()
            if held.began_deferred and "database is locked" in problem:
                problem += f". {LOCKED_HINT}"
            problems.append(problem)

    threads = [threading.Thread(target=racer, args=(db,), daemon=True) for db in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PATIENCE)
    if any(thread.is_alive() for thread in threads):
        problems.append(f"{CALL} did not return within {PATIENCE:g} seconds")
    else:
        for db in connections:
            db.close()
    return answers, problems


def _connection(path: Path) -> sqlite3.Connection:
    """A connection like a worker process's: autocommit, and patient with others' locks."""
    return sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )


def _table(path: Path, status: str) -> None:
    """The table of the exercise, with one job, job-001, in ``status``."""
    with contextlib.closing(_connection(path)) as db:
        db.execute("DROP TABLE IF EXISTS jobs")
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL)")
        db.execute("INSERT INTO jobs VALUES ('job-001', ?)", (status,))


def _status(path: Path) -> str:
    with contextlib.closing(_connection(path)) as db:
        return db.execute("SELECT status FROM jobs WHERE id = 'job-001'").fetchone()[0]
