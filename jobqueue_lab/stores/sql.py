"""Job stores in a SQL database: the contract of ``JobStore``, kept by a database that several
processes, on one machine or many, share.

``JobStore`` writes every change in four steps; here they are one transaction that

1. reads the job and locks its row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
   transaction holds the database's single write lock from its first statement),
2. decides in Python, with the very functions the in-memory store uses (``decisions``),
3. saves the change with one conditional ``UPDATE ... WHERE status = ? AND claim = ?``, which
   changes the row only if it is still the one the decision was made on, and records the
   audit entry (appended as the transaction commits, so that the audit log, written one
   transaction at a time, waits least),

and then commits all of it, or nothing. ``SQLJobStore`` is written once for both databases;
``SQLiteJobStore`` and ``PostgresJobStore`` say how to connect, and the few words of SQL in
which the two databases differ (a ``Dialect``).
"""

from __future__ import annotations

import json
import queue
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from ..audit import Transition
from ..backoff import BackoffPolicy, no_delay
from ..decisions import Decision, checked_lease
from ..domain import PENDING, Job, JobStatus, parse_status, thaw_payload
from ..errors import JobNotFound, StoreUnavailable
from ..validation import check_callable, check_int, check_limit, check_timeout
from .contract import JobStore
from .rows import audit_row, job_from_row, job_id_of, number_of, transition
from .schema import make_it_the_stores
from .statements import Dialect, Statements

BIGGEST_INT = 2**63 - 1
"""The largest whole number a SQL database column holds (a 64-bit integer)."""

SETTLED_POLL = 0.05
"""The longest pause, in seconds, between two looks at the database while waiting for every
job to settle: other processes change it, so nothing here can be told when they do."""


class Connection(Protocol):
    """What these stores use of a database connection; sqlite3's and psycopg's both fit."""

    def execute(self, statement: str, parameters: Any = ..., /) -> Any: ...

    def cursor(self) -> Any: ...

    def close(self) -> None: ...


class SQLJobStore(JobStore):
    """A job store in a SQL database, for any number of threads and processes at once.

    Subclasses set ``dialect`` and say how to connect (``_connect``) and how to tell that a
    connection is idle (``_is_idle``). Each thread borrows a connection of its own from a
    small pool for each call, so threads never share a transaction.

    ``clock`` gives the store's time in seconds, for leases, ``retry_at`` and the audit log.
    Every process using the database must share it, so it is a wall clock or the database's.
    A test may pass a clock it controls, as it would to ``InMemoryJobStore``.

    Job ids come from the database (``job-001``, ``job-002``, ...), unique across every process
    and every reopening. The audit log's ``at`` counts seconds since the database was created.
    What a database cannot hold is refused with ``ValueError``: numbers beyond 64 bits, text
    that is not valid Unicode (a lone surrogate, which has no UTF-8 encoding) and, on
    PostgreSQL, text with a NUL character.
    """

    dialect: Dialect

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        lease_seconds: float = 30.0,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self._clock = check_callable(clock, "clock", "with no arguments, returning seconds")
        self.lease_seconds = checked_lease(lease_seconds)
        self._backoff = no_delay() if backoff is None else backoff
        check_callable(self._backoff, "backoff", "with a job, returning seconds")
        self._sql = Statements(self.dialect)
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._closed = False
        # A store that is dropped without close() still closes its idle connections.
        weakref.finalize(self, _close_all, self._idle)
        self._started = self._create_schema(self._now())

    # --- how these stores lock, read and save (see JobStore) -------------------------------

    @contextmanager
    def _changing(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises.

        The audit entries of the transaction are appended at its end, just before the commit
        (``_append_and_commit``): the audit log is appended to one transaction at a time, so
        each holds its turn for as short a time as possible. A database that cannot be reached,
        or a lock held too long by another session, raises ``StoreUnavailable``.
        """
        db, _ = self._borrow("making a change", self.dialect.begin)
        place = Transaction(db)
        committing = False
        try:
            yield place
            committing = True
            self._append_and_commit(db, place.entries)
        except BaseException as error:
            self._roll_back(db)
            if isinstance(error, Exception) and self._unreachable(error, db):
                doing = "committing a change" if committing else "making a change"
                made = None if committing else False
                raise StoreUnavailable(doing, _first_line(error), committed=made) from error
            raise
        finally:
            self._give_back(db)

    def _read(self, place: Transaction, job_id: str) -> Job:
        row = _one(place.db, self._sql.lock_job, (number_of(job_id),))
        if row is None:
            raise JobNotFound(job_id)
        return job_from_row(row)

    def _next_in_line(self, place: Transaction) -> Job | None:
        row = _one(place.db, self._sql.next_in_line, ())
        return None if row is None else job_from_row(row)

    def _retry_candidates(self, place: Transaction, now: float) -> list[Job]:
        return [job_from_row(row) for row in place.db.execute(self._sql.due_for_retry, (now,))]

    def _expiry_candidates(self, place: Transaction, now: float) -> list[Job]:
        return [job_from_row(row) for row in place.db.execute(self._sql.lease_expired, (now,))]

    def _new_job(self, type: str, payload: Mapping[str, Any], max_retries: int) -> tuple:
        return (type, json.dumps(thaw_payload(payload)), max_retries, time.time())

    def _add(self, place: Transaction, new: tuple) -> Job:
        return job_from_row(_one(place.db, self._sql.create_job, new))

    def _save(self, place: Transaction, decision: Decision, at: float, actor: str) -> None:
        job, after = decision.job, decision.after
        if after is not None and not decision.new:
            # Saved only over the row the decision was made on (same status, same claim).
            changed = place.db.execute(
                self._sql.save_job,
                (
                    after.status.value,
                    after.attempts,
                    after.last_error,
                    after.claim,
                    after.claimed_by,
                    after.lease_expires_at,
                    after.lease_seconds,
                    after.retry_at,
                    after.permanent,
                    after.status is PENDING,
                    number_of(job.id),
                    job.status.value,
                    job.claim,
                ),
            ).rowcount
            if changed != 1:  # the row lock makes this impossible; if it ever fails, say so
                raise RuntimeError(f"job {job.id!r} changed while this transaction held it")
        if decision.audited:
            place.entries.append(decision.entry(at, actor))

    def _storable(self, text: str, name: str) -> str:
        """Refuse text that this database cannot store (a ``ValueError``), before anything
        starts: found while writing, it would fail the transaction with a less helpful error."""
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{name} contains a lone surrogate, which is not text a database can hold"
                ) from None
        return text

    def _fits(self, number: int | None, name: str) -> int | None:
        if number is not None and number > BIGGEST_INT:
            raise ValueError(f"{name} must be at most {BIGGEST_INT} to fit a database column")
        return number

    # --- reading -------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        """The current snapshot of one job; ``JobNotFound`` if there is none."""
        rows = self._rows(self._sql.get_job, (number_of(job_id),))
        if not rows:
            raise JobNotFound(job_id)
        return job_from_row(rows[0])

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """All jobs, or the jobs with one status, in the order they were created."""
        if status is None:
            return self._jobs(self._sql.all_jobs)
        return self._jobs(self._sql.jobs_in, (parse_status(status).value,))

    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, those waiting longest first; at most ``limit`` of them."""
        limit = check_limit(limit)
        count = BIGGEST_INT if limit is None else min(limit, BIGGEST_INT)
        rows = self._rows(self._sql.pending_numbers, (count,))
        return [job_id_of(number) for (number,) in rows]

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status present, zeros included)."""
        found = dict(self._rows(self._sql.counts))
        return {status: found.get(status.value, 0) for status in JobStatus}

    def transitions(self, start: int = 0) -> list[Transition]:
        """The audit log from entry ``start`` on: every attempted change, in order."""
        check_int(start, "start", minimum=0)
        rows = self._rows(self._sql.transitions, (min(start, BIGGEST_INT),))
        return [transition(row, self._started) for row in rows]

    def all_settled(self) -> bool:
        """True when every job is completed, or failed with no attempts left."""
        [(unsettled,)] = self._rows(self._sql.unsettled)
        return not unsettled

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Block until ``all_settled()`` holds or ``timeout`` seconds pass; return which.

        Other processes change the database without telling this one, so it looks again
        after pauses that grow to ``SETTLED_POLL`` seconds.
        """
        timeout = check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.001
        while not self.all_settled():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            time.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 2, SETTLED_POLL)
        return True

    def __len__(self) -> int:
        [(size,)] = self._rows(self._sql.size)
        return size

    def __repr__(self) -> str:
        if self._closed:
            return f"<{type(self).__name__} closed>"
        try:
            counts = ", ".join(f"{s.value}={n}" for s, n in self.counts().items())
        except StoreUnavailable:  # a repr is asked for while debugging: it must not raise
            counts = "(the database cannot be reached)"
        return f"<{type(self).__name__} {counts}>"

    # --- connections ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's connections. The jobs stay in the database for the next store
        opened on it; this object can no longer be used."""
        self._closed = True
        _close_all(self._idle)

    def __enter__(self) -> SQLJobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> Connection:
        """A new connection to the database, in autocommit mode: transactions are begun and
        committed explicitly, so each is exactly as long as the store means it to be."""
        raise NotImplementedError

    def _is_idle(self, db: Connection) -> bool:
        """True when ``db`` is open and in no transaction, fit to be used again."""
        raise NotImplementedError

    def _is_broken(self, db: Connection) -> bool:
        """True when ``db`` has lost its database (a server that restarted ends every
        connection it had); SQLite's connections, to a file, never are."""
        return False

    def _unreachable(self, error: Exception, db: Connection | None) -> bool:
        """True when ``error``, raised on ``db`` (``None``: while connecting), says that the
        database could not be reached, cut the connection or kept the call waiting too long
        (see subclasses), rather than that the request itself was wrong."""
        return False

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """Borrow an idle connection, or open one; give it back afterwards if it is still fit
        for use (a connection left in a broken transaction is closed instead)."""
        db, _ = self._borrow("connecting")
        try:
            yield db
        finally:
            self._give_back(db)

    def _borrow(
        self, doing: str, first: str | None = None, parameters: tuple = ()
    ) -> tuple[Connection, Any]:
        """An idle connection, or a new one, and the cursor of ``first`` run on it (if given).

        Nothing has happened yet when ``first`` is sent, so a pooled connection that turns out
        to be broken (the server restarted since it was last used) is closed and the next one is
        tried, then a new one: after a restart the first call finds the server again, instead
        of failing once for every connection the pool held.
        """
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        while True:
            try:
                db, pooled = self._idle.get_nowait(), True
            except queue.Empty:
                db, pooled = None, False
            try:
                if db is None:
                    db = self._connect()
                return db, None if first is None else db.execute(first, parameters)
            except Exception as error:
                if db is not None:
                    self._give_back(db)
                if pooled and self._is_broken(db):
                    continue
                if self._unreachable(error, db):
                    raise StoreUnavailable(doing, _first_line(error), committed=False) from error
                raise

    def _rows(self, statement: str, parameters: tuple = ()) -> list[tuple]:
        """The rows one read returns, on a borrowed connection (see ``_borrow``)."""
        db, cursor = self._borrow("reading", statement, parameters)
        try:
            return cursor.fetchall()
        finally:
            self._give_back(db)

    def _give_back(self, db: Connection) -> None:
        """Return ``db`` to the pool if it is fit for use again; close it otherwise."""
        if self._closed or not self._is_idle(db):
            db.close()
        else:
            self._idle.put(db)

    def _roll_back(self, db: Connection) -> None:
        """End ``db``'s open transaction, if it has one and can still be told to."""
        if self._is_idle(db) or self._is_broken(db):
            return
        try:
            db.execute("ROLLBACK")
        except Exception:
            db.close()  # it cannot roll back, so it will never be used again

    def _append_and_commit(self, db: Connection, entries: list[tuple]) -> None:
        """Append the transaction's audit entries, in order, and commit (see subclasses)."""
        if entries:
            self._take_turn_at_the_log(db)
            db.cursor().executemany(self._sql.record, [audit_row(e) for e in entries])
        db.execute("COMMIT")

    def _create_schema(self, now: float) -> float:
        """Make the database this store's, or refuse it (``schema.make_it_the_stores``), in one
        transaction; return when the store was first made."""
        with self._changing() as place:
            self._prepare_schema(place.db)
            return make_it_the_stores(place.db, self._sql, now, self._where())

    def _prepare_schema(self, db: Connection) -> None:
        """Whatever this database needs before the tables are looked for (see subclasses)."""

    def _where(self) -> str:
        """The database, as an error names it (see subclasses)."""
        return "this database"

    def _take_turn_at_the_log(self, db: Connection) -> None:
        """Wait until no other transaction is appending to the audit log (see subclasses)."""

    def _jobs(self, statement: str, parameters: tuple = ()) -> list[Job]:
        return [job_from_row(row) for row in self._rows(statement, parameters)]


class Transaction:
    """Where one change happens: a connection inside a transaction, and the audit entries
    it will append as it commits."""

    __slots__ = ("db", "entries")

    def __init__(self, db: Connection) -> None:
        self.db = db
        self.entries: list[tuple] = []


def _one(db: Connection, statement: str, parameters: tuple) -> tuple | None:
    """The first row a statement returns, or ``None``. The statement is run to its end, so
    a write with ``RETURNING`` is complete before the transaction commits."""
    rows = db.execute(statement, parameters).fetchall()
    return rows[0] if rows else None


def _first_line(error: Exception) -> str:
    """The first line of what a driver said, for a message of our own."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _close_all(idle: queue.SimpleQueue) -> None:
    while True:
        try:
            idle.get_nowait().close()
        except queue.Empty:
            return
