"""The PostgreSQL job store: jobs in a database server that workers on many machines share.

What PostgreSQL adds over SQLite is concurrency: many transactions write at once, each locking
only the rows it touches. Three things follow.

* A transaction locks the job it decides about (``SELECT ... FOR UPDATE``), so two workers
  deciding about one job take turns, and workers busy with different jobs never wait.
* ``claim_next`` locks the longest-waiting pending job that no other transaction holds
  (``FOR UPDATE SKIP LOCKED``, the way procrastinate fetches jobs): many workers claim at once,
  each a different job, none waiting for another.
* Times come from the database's clock (``now()``), so workers on machines whose clocks
  disagree still agree on when a lease runs out.

Appends to the audit log take turns (an advisory lock held until the transaction ends), so
entries are numbered in the order they commit and a reader never finds a gap filled in later.

psycopg (version 3) is imported when a store is made, so the rest of the package works
without it: ``pip install 'jobqueue-lab[postgres]'``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..backoff import BackoffPolicy
from ..validation import check_text
from .sql import Connection, SQLJobStore
from .statements import Dialect

SCHEMA_LOCK = 720_912_001
"""The advisory lock taken while creating the tables: an arbitrary number kept for this use."""

LOG_LOCK = 720_912_002
"""The advisory lock taken to append to the audit log."""


class PostgresJobStore(SQLJobStore):
    """A job store in the PostgreSQL database at ``dsn`` (``postgresql://user@host/db``, or
    psycopg's ``key=value`` form); its tables are created if missing.

    ``clock`` defaults to the database's clock. Use it as a context manager, or call
    ``close()``.
    """

    dialect = Dialect(
        placeholder="%s",
        begin="BEGIN",
        key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        back_of_the_line="nextval('jobs_line')",
        lock_rows=" FOR UPDATE",
        skip_locked=" FOR UPDATE SKIP LOCKED",
        no_limit="ALL",
        greater="greatest",  # greatest() passes over a NULL, as while the log is empty
        names_in_use=(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
        ),
    )

    def __init__(
        self,
        dsn: str,
        *,
        clock: Callable[[], float] | None = None,
        lease_seconds: float = 30.0,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self.dsn = check_text(dsn, "dsn")
        self._psycopg = _import_psycopg()
        clock = self._database_clock if clock is None else clock
        super().__init__(clock=clock, lease_seconds=lease_seconds, backoff=backoff)

    def _connect(self) -> Any:
        return self._psycopg.connect(self.dsn, autocommit=True)

    def _is_idle(self, db: Connection) -> bool:
        idle = self._psycopg.pq.TransactionStatus.IDLE
        return not db.closed and db.info.transaction_status == idle

    def _storable(self, text: str, name: str) -> str:
        if "\x00" in text:
            raise ValueError(f"{name} contains a NUL character, which PostgreSQL text cannot hold")
        return super()._storable(text, name)

    def _database_clock(self) -> float:
        with self._connection() as db:
            (now,) = db.execute("SELECT extract(epoch FROM now())::float8").fetchone()
        return now

    def _prepare_schema(self, db: Connection) -> None:
        # Two sessions opening a new database at once could both find no tables and both
        # make them, and one of them would then fail: opening stores takes turns.
        db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def _create_tables(self, db: Connection, now: float) -> None:
        # The line of pending jobs takes its places from a sequence (``back_of_the_line``),
        # kept if an earlier store left one behind.
        db.execute("CREATE SEQUENCE IF NOT EXISTS jobs_line")
        super()._create_tables(db, now)

    def _where(self) -> str:
        settings = self._psycopg.conninfo.conninfo_to_dict(self.dsn)
        settings.pop("password", None)  # an error message is no place for a password
        return f"the PostgreSQL database {self._psycopg.conninfo.make_conninfo(**settings)!r}"

    def _take_turn_at_the_log(self, db: Connection) -> None:
        db.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))

    def _append_and_commit(self, db: Connection, entries: list[tuple]) -> None:
        if not entries:
            return super()._append_and_commit(db, entries)
        # Pipeline mode: the lock, the entries and COMMIT reach the server together, and
        # their answers come back together: one round trip instead of three or more. The
        # server runs them back to back, so the log's lock is held while it appends and
        # flushes the commit to disk, with no wait for this process in between.
        with db.pipeline():
            super()._append_and_commit(db, entries)


def _import_psycopg() -> ModuleType:
    try:
        return importlib.import_module("psycopg")
    except ImportError:
        raise ImportError(
            "PostgresJobStore needs psycopg 3: pip install 'jobqueue-lab[postgres]'"
        ) from None
