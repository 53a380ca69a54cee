"""The SQLite job store: jobs in one file, shared by every process on the machine.

SQLite needs no server, so it is the course's default store beyond one process. Three settings
make it safe for many processes at once:

* **WAL mode**: readers never wait for the writer, and a commit is one append to the log.
* **Every write transaction starts with** ``BEGIN IMMEDIATE``, which takes the database's single
  write lock at once. Python's default (a deferred ``BEGIN``) would read first and ask for the
  lock at the first write; when two processes both do that, SQLite must fail one of them at once
  with "database is locked", whatever the busy timeout.
* **A generous busy timeout**: a transaction waits its turn for the lock instead of failing.

Holding the write lock for the whole transaction is what makes check-then-change safe here, so
SQLite needs no row locks: the ``Dialect`` leaves ``FOR UPDATE`` out.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from ..backoff import BackoffPolicy
from ..errors import UnusableDatabase
from .sql import SQLJobStore
from .statements import Dialect

BUSY_TIMEOUT = 60.0
"""How long, in seconds, a transaction waits for another process's write lock before failing."""

WAL_RETRY_PAUSE = 0.002
"""The pause, in seconds, before trying again to switch a file another connection holds to WAL."""

UNUSABLE = {
    sqlite3.SQLITE_CANTOPEN: "SQLite cannot open it",
    sqlite3.SQLITE_NOTADB: "it is not a SQLite database",
    sqlite3.SQLITE_CORRUPT: "it is a damaged SQLite database",
    sqlite3.SQLITE_READONLY: "SQLite may only read it",
    sqlite3.SQLITE_PERM: "SQLite is not allowed to use it",
}
"""What SQLite's error codes say about a file it cannot keep the store's jobs in."""


class SQLiteJobStore(SQLJobStore):
    """A job store in the SQLite file at ``path`` (created, with its tables, if missing).

    ``path`` is made absolute when the store opens (``self.path``), so a later change of the
    working folder changes nothing. A path SQLite cannot use (a missing folder, a folder, a
    file that is not a database, another program's database) is refused with
    ``UnusableDatabase``, which names it and says why.

    Open one store per process on the same file; every process sees every job. ``clock``
    defaults to the wall clock (``time.time``), which all processes on a machine share.
    Use it as a context manager, or call ``close()``.
    """

    dialect = Dialect(
        placeholder="?",
        begin="BEGIN IMMEDIATE",
        key="INTEGER PRIMARY KEY AUTOINCREMENT",
        # Transactions take turns, so "one past the last job in line" is never taken twice.
        back_of_the_line=(
            "(SELECT coalesce(max(queue_position), 0) + 1 FROM jobs WHERE status = 'pending')"
        ),
        lock_rows="",
        skip_locked="",
        no_limit="-1",
        greater="max",  # max() of two arguments; NULL if either is, as while the log is empty
        names_in_use="SELECT name FROM sqlite_master",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = 30.0,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
        if os.fspath(path) in ("", ":memory:"):
            raise ValueError(
                "SQLiteJobStore needs a file; for a store in memory, use InMemoryJobStore"
            )
        self.path = usable_path(path)
        super().__init__(clock=clock, lease_seconds=lease_seconds, backoff=backoff)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        # FULL: a committed job survives a crash of the machine, not only of the process.
        db.execute("PRAGMA synchronous = FULL")
        return db

    def _is_idle(self, db: sqlite3.Connection) -> bool:
        return not db.in_transaction

    def _create_schema(self, now: float) -> float:
        """Make the file this store's (see ``SQLJobStore``), then switch it to WAL mode: only
        once it is known to be the store's, as the switch changes the file for good.

        What makes a file unusable (not a database, a damaged one, one SQLite may not write)
        is first found here, by SQLite, and said with the file's path.
        """
        try:
            started = super()._create_schema(now)
            self._switch_to_wal()
        except sqlite3.DatabaseError as error:
            reason = UNUSABLE.get(error.sqlite_errorcode & 0xFF)
            if reason is None:
                raise
            raise UnusableDatabase(self.path, f"{reason} ({error})") from error
        return started

    def _where(self) -> str:
        return str(self.path)

    def _switch_to_wal(self) -> None:
        """Put the file in WAL mode, waiting for other connections as any statement would.
        The mode is a property of the file: set once, it holds for every connection after.

        SQLite does not apply the busy timeout to this switch in every state: while other
        connections are opening the same new file, it can fail at once with "database is
        locked". So it is tried again, until ``BUSY_TIMEOUT`` has passed.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT
        with self._connection() as db:
            while (mode := _try_wal(db)) is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.path} was not switched to WAL mode: other connections held it "
                        f"for {BUSY_TIMEOUT:g} s"
                    )
                time.sleep(WAL_RETRY_PAUSE)
        if mode != "wal":
            raise UnusableDatabase(self.path, f"SQLite keeps it in {mode} mode, not WAL mode")


def usable_path(path: str | os.PathLike[str]) -> Path:
    """The absolute path of the file, or ``UnusableDatabase`` if SQLite could not make one there.

    Made absolute once, when the store opens: every connection the store opens later then
    finds the same file, whatever the working folder has become by then.
    """
    absolute = Path(path).resolve()
    if absolute.is_dir():
        raise UnusableDatabase(absolute, "it is a folder, not a file")
    if not absolute.parent.is_dir():
        raise UnusableDatabase(absolute, f"there is no folder {absolute.parent}")
    return absolute


def _try_wal(db: sqlite3.Connection) -> str | None:
    """Ask once to put the file in WAL mode: the mode it is in now, or ``None`` when another
    connection was in the way."""
    try:
        (mode,) = db.execute("PRAGMA journal_mode = WAL").fetchone()
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            return None
        raise
    return mode
