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
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..backoff import BackoffPolicy
from ..domain import PENDING
from ..validation import check_text
from .sql import Connection, SQLJobStore
from .statements import Dialect

SCHEMA_LOCK = 720_912_001
"""The advisory lock taken while creating the tables: an arbitrary number kept for this use."""

LOG_LOCK = 720_912_002
"""The advisory lock taken to append to the audit log."""

LOCK_WAIT = 15.0
"""The longest, in seconds, a store call waits for a lock another session holds (a job's row,
or the audit log's turn). Transactions here last milliseconds, so a longer wait means the holder
is frozen or gone; the call gives up with ``StoreUnavailable`` instead of waiting for ever."""

FROZEN_SESSION = 5.0
"""How long, in seconds, the server lets a session sit in an open transaction without a word
before ending it and freeing its locks: what a process stopped in the middle of a change (a
``SIGSTOP``, a debugger, a swapped-out machine) would otherwise hold for ever."""

WORK_CHANNEL = "jobqueue_lab_work"
"""The channel on which a transaction that makes a job pending tells idle workers so
(``NOTIFY``); each idle worker listens on it (``LISTEN``) while it waits."""

CONNECT_WAIT = 10
"""How long, in whole seconds, opening a connection may take before it counts as a failure."""


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
        # Kept if an earlier store left one behind.
        made_first=("CREATE SEQUENCE IF NOT EXISTS jobs_line",),
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
        self._listening = threading.local()
        self._listeners: list[Any] = []
        super().__init__(clock=clock, lease_seconds=lease_seconds, backoff=backoff)

    def _connect(self) -> Any:
        db = self._psycopg.connect(self.dsn, autocommit=True, connect_timeout=CONNECT_WAIT)
        db.execute(
            "SELECT set_config('lock_timeout', %s, false),"
            " set_config('idle_in_transaction_session_timeout', %s, false)",
            (f"{LOCK_WAIT * 1000:.0f}", f"{FROZEN_SESSION * 1000:.0f}"),
        )
        return db

    def _is_idle(self, db: Connection) -> bool:
        idle = self._psycopg.pq.TransactionStatus.IDLE
        return not db.closed and db.info.transaction_status == idle

    def _is_broken(self, db: Connection) -> bool:
        return db.closed or db.broken

    def _unreachable(self, error: Exception, db: Connection | None) -> bool:
        # The server is down or restarting, or a lock wait ran past LOCK_WAIT
        # (LockNotAvailable): psycopg calls these operational errors. Or the server ended
        # the session (it sat frozen in a transaction past FROZEN_SESSION), which breaks it.
        broken = db is not None and self._is_broken(db)
        return broken or isinstance(error, self._psycopg.OperationalError)

    def _storable(self, text: str, name: str) -> str:
        if "\x00" in text:
            raise ValueError(f"{name} contains a NUL character, which PostgreSQL text cannot hold")
        return super()._storable(text, name)

    def _database_clock(self) -> float:
        [(now,)] = self._rows("SELECT extract(epoch FROM now())::float8")
        return now

    def _prepare_schema(self, db: Connection) -> None:
        # Two sessions opening a new database at once could both find no tables and both
        # make them, and one of them would then fail: opening stores takes turns.
        db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

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
            if any(_makes_pending(entry) for entry in entries):
                # Delivered when (and only if) the transaction commits.
                db.execute(f"NOTIFY {WORK_CHANNEL}")
            super()._append_and_commit(db, entries)

    def wait_for_work(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait up to ``timeout`` seconds for a job to become pending, woken by the database.

        Each waiting thread has a connection of its own that listens on ``WORK_CHANNEL``; a
        transaction that makes a job pending notifies it as it commits, so an idle worker
        starts a new job within milliseconds instead of at its next poll. A notification that
        arrives while the worker is busy is kept by the connection and ends its next wait at
        once. If the listening connection fails, this waits out ``timeout`` like any store,
        and the worker's polling finds the job all the same. ``stop`` is not watched while the
        connection listens: the worker looks at it after each wait, which is short.
        """
        listener = self._listener()
        if listener is None:
            return super().wait_for_work(timeout, stop)
        try:
            return any(True for _ in listener.notifies(timeout=timeout, stop_after=1))
        except self._psycopg.OperationalError:
            self._listening.db = None
            self._listeners.remove(listener)
            listener.close()
            return False

    def _listener(self) -> Any:
        """This thread's listening connection, opened on first use (``None`` if it cannot be)."""
        db = getattr(self._listening, "db", None)
        if db is None or db.closed:
            try:
                db = self._connect()
                db.execute(f"LISTEN {WORK_CHANNEL}")
            except self._psycopg.OperationalError:
                return None
            self._listening.db = db
            self._listeners.append(db)
        return db

    def close(self) -> None:
        super().close()
        for db in self._listeners:
            db.close()


def _makes_pending(entry: tuple) -> bool:
    """True for an audit entry that records a job becoming pending: work for a worker."""
    to_status, accepted = entry[3], entry[4]
    return accepted and to_status is PENDING


def _import_psycopg() -> ModuleType:
    try:
        return importlib.import_module("psycopg")
    except ImportError:
        raise ImportError(
            "PostgresJobStore needs psycopg 3: pip install 'jobqueue-lab[postgres]'"
        ) from None
