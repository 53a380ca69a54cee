"""Job stores in a SQL database: the contract of ``contract.JobStore``, kept by a database that
several processes, on one machine or many, share.

``InMemoryJobStore`` decides under a ``threading.Lock``. These stores decide inside a database
transaction, with the very same functions (``decisions``), so they refuse and change jobs alike.
Every write is one transaction that

1. reads the job and locks its row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
   transaction holds the database's single write lock from its first statement),
2. decides in Python, with ``decisions``,
3. applies the change with one conditional ``UPDATE ... WHERE status = ? AND claim = ?
   RETURNING ...``, which changes the row only if it is still the one the decision was made on,
4. appends the audit entry (kept until the end of the transaction, and appended just before
   it commits, so that the audit log, written one transaction at a time, waits least),

and then commits all of it, or nothing. ``SQLJobStore`` is written once for both databases;
``SQLiteJobStore`` and ``PostgresJobStore`` say how to connect, and the few words of SQL in
which the two databases differ (a ``Dialect``).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from .audit import REQUEUED, Transition
from .backoff import BackoffPolicy, no_delay
from .base import BaseJobStore
from .decisions import (
    check_claim,
    checked_lease,
    next_snapshot,
    refusal,
    stale_claim,
)
from .domain import (
    EMPTY_PAYLOAD,
    FAILED,
    PENDING,
    PROCESSING,
    Job,
    JobStatus,
    can_transition,
    freeze_payload,
    parse_status,
    thaw_payload,
)
from .errors import InvalidTransition, JobNotFound, StaleClaim, stale_claim_reason
from .sql import Dialect, Statements
from .validation import (
    check_actor,
    check_callable,
    check_int,
    check_job_type,
    check_limit,
    check_max_retries,
    check_timeout,
    checked_payload,
)

BIGGEST_INT = 2**63 - 1
"""The largest whole number a SQL database column holds (a 64-bit integer)."""

SETTLED_POLL = 0.05
"""The longest pause, in seconds, between two looks at the database while waiting for every
job to settle: other processes change it, so nothing here can be told when they do."""


class SQLJobStore(BaseJobStore):
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
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        # A store that is dropped without close() still closes its idle connections.
        weakref.finalize(self, _close_all, self._idle)
        self._started = self._create_schema(self._now())

    # --- the seed's four writes ----------------------------------------------------------

    def create_job(
        self,
        type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        max_retries: int = 3,
        actor: str | None = None,
    ) -> Job:
        """Add a new pending job and return its snapshot."""
        check_job_type(type)
        _check_fits(check_max_retries(max_retries), "max_retries")
        frozen = EMPTY_PAYLOAD if payload is None else checked_payload(payload)
        self._check_storable(type, "job type")
        actor = self._actor(actor)
        at = self._now()
        row = (type, json.dumps(thaw_payload(frozen)), max_retries, time.time())
        with self._transaction() as db:
            job = _job(_one(db, self._sql.create_job, row))
            self._record(db, at, job.id, None, PENDING, True, actor)
        return job

    def claim_job(
        self, job_id: str, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Move a pending job to processing, count the attempt and grant a lease, as one step;
        ``None`` when it is not pending (someone else claimed it first, or it is finished)."""
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        at = self._now()
        with self._transaction() as db:
            job = self._locked(db, job_id)
            if job.status is not PENDING:
                reason = f"job is {job.status.value}, not pending"
                self._record(db, at, job_id, job.status, PROCESSING, False, actor, reason)
                return None
            return self._claim(db, job, actor, at, lease)

    def claim_next(
        self, *, actor: str | None = None, lease_seconds: float | None = None
    ) -> Job | None:
        """Claim the pending job that has waited longest, or return ``None`` if none is."""
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        at = self._now()
        with self._transaction() as db:
            row = _one(db, self._sql.claim_next, (actor, at + lease, lease))
            if row is None:
                return None
            job = _job(row)
            self._record(db, at, job.id, PENDING, PROCESSING, True, actor, None, job.claim)
            return job

    def update_status(
        self,
        job_id: str,
        status: JobStatus | str,
        last_error: str | None = None,
        *,
        claim: int | None = None,
        permanent: bool = False,
        actor: str | None = None,
    ) -> Job:
        """Move a job to ``status``, with ``last_error`` when it failed, as one step (see
        ``InMemoryJobStore.update_status``: the same request gets the same answer here)."""
        to_status = parse_status(status)
        if last_error is not None and not isinstance(last_error, str):
            raise TypeError(f"last_error must be a str or None, got {type(last_error).__name__}")
        check_claim(claim)
        _check_fits(claim, "claim")
        if not isinstance(permanent, bool):
            raise TypeError(f"permanent must be a bool, got {type(permanent).__name__}")
        if permanent and to_status is not FAILED:
            raise ValueError("permanent=True is only for a job that fails")
        if last_error is not None:
            self._check_storable(last_error, "last_error")
        actor = self._actor(actor)
        delay = self._retry_delay(job_id) if to_status is FAILED and not permanent else None
        at = self._now()
        with self._transaction() as db:
            job = self._locked(db, job_id)
            refused = self._fence(job, to_status, claim) or refusal(job, to_status, last_error)
            if refused is None:
                if to_status is PROCESSING:
                    return self._claim(db, job, actor, at, self.lease_seconds)
                return self._finish(
                    db, job, to_status, last_error, permanent, delay, actor, at, claim or job.claim
                )
            reason = refused if isinstance(refused, str) else stale_claim_reason(refused)
            self._record(db, at, job_id, job.status, to_status, False, actor, reason, claim)
        if isinstance(refused, StaleClaim):
            raise refused
        if not can_transition(job.status, to_status):
            raise InvalidTransition(job_id, job.status, to_status)
        raise ValueError(f"job {job_id!r} not moved to {to_status.value!r}: {reason}")

    def retry_failed_jobs(self, *, actor: str | None = None) -> list[Job]:
        """Move every failed job that may be retried and is due back to pending, in creation
        order, and return them. Each keeps its ``last_error``."""
        actor = self._actor(actor)
        now = self._now()
        with self._transaction() as db:
            due = [_job(row) for row in db.execute(self._sql.due_for_retry, (now,)).fetchall()]
            return [self._back_to_pending(db, job, job.attempts, actor, now) for job in due]

    # --- lost, stopped and late workers (notebook 08) --------------------------------------

    def renew_lease(
        self,
        job_id: str,
        claim: int,
        *,
        actor: str | None = None,
        lease_seconds: float | None = None,
    ) -> Job:
        """A heartbeat: extend the lease of ``claim``, which must still hold the job.

        Renewals change no status, so only refused ones go into the audit log.
        """
        check_claim(claim, required=True)
        _check_fits(claim, "claim")
        lease = self._lease(lease_seconds)
        actor = self._actor(actor)
        at = self._now()
        with self._transaction() as db:
            job = self._locked(db, job_id)
            stale = stale_claim(job, PROCESSING, claim)
            if stale is None:
                renewed = next_snapshot(job, PROCESSING, lease_expires_at=at + lease)
                return self._write(db, job, renewed, lease)
            reason = stale_claim_reason(stale)
            self._record(db, at, job_id, job.status, PROCESSING, False, actor, reason, claim)
        raise stale

    def release_job(self, job_id: str, claim: int, *, actor: str | None = None) -> Job:
        """Give a claimed job back: processing -> pending, the attempt not counted."""
        check_claim(claim, required=True)
        _check_fits(claim, "claim")
        actor = self._actor(actor)
        at = self._now()
        with self._transaction() as db:
            job = self._locked(db, job_id)
            stale = stale_claim(job, PENDING, claim)
            if stale is None:
                note = f"released by {actor}: attempt {job.attempts} not counted"
                return self._back_to_pending(db, job, job.attempts - 1, actor, at, note, claim)
            reason = stale_claim_reason(stale)
            self._record(db, at, job_id, job.status, PENDING, False, actor, reason, claim)
        raise stale

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        """Fail every processing job whose lease has run out, and return them, oldest first.

        The backoff policy is asked about each job before the transaction starts, as the
        in-memory store asks it outside its lock; a job whose claim changed in between was
        reported or released meanwhile, and is left alone.
        """
        actor = self._actor(actor)
        now = self._now()
        with self._connection() as db:
            seen = [_job(row) for row in db.execute(self._sql.expired, (now,)).fetchall()]
        delays = {job.id: (job.claim, self._retry_delay(job)) for job in seen}
        recovered = []
        with self._transaction() as db:
            for row in db.execute(self._sql.expired, (now,)).fetchall():
                job, length = _job(row), row[-1]
                if job.id not in delays or delays[job.id][0] != job.claim:
                    continue  # it expired after the first look: the next sweep will see it
                error = (
                    f"lease expired after {length} s: {job.claimed_by} lost or stuck "
                    f"on attempt {job.attempts}"
                )
                delay = delays[job.id][1]
                finished = self._finish(db, job, FAILED, error, False, delay, actor, now, job.claim)
                recovered.append(finished)
        return recovered

    def requeue(self, job_id: str, *, actor: str | None = None) -> Job:
        """Give a dead job (failed for good) a fresh budget and send it back to pending."""
        actor = self._actor(actor)
        at = self._now()
        with self._transaction() as db:
            job = self._locked(db, job_id)
            if job.is_dead:
                note = f"{REQUEUED} by {actor}: a fresh budget of {job.max_retries} attempts"
                return self._back_to_pending(db, job, 0, actor, at, note)
            reason = (
                "only a dead job (failed for good) can be requeued; "
                f"this one is {job.status.value}"
                + (" and will be retried by the sweeper" if job.can_retry else "")
            )
            self._record(db, at, job_id, job.status, PENDING, False, actor, reason)
        raise ValueError(f"job {job_id!r} not requeued: {reason}")

    # --- reading -------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        """The current snapshot of one job; ``JobNotFound`` if there is none."""
        with self._connection() as db:
            row = _one(db, self._sql.get_job, (_number(job_id),))
        if row is None:
            raise JobNotFound(job_id)
        return _job(row)

    def list_jobs(self, status: JobStatus | str | None = None) -> list[Job]:
        """All jobs, or the jobs with one status, in the order they were created."""
        if status is None:
            return self._jobs(self._sql.all_jobs)
        return self._jobs(self._sql.jobs_in, (parse_status(status).value,))

    def pending_ids(self, limit: int | None = None) -> list[str]:
        """Ids of pending jobs, those waiting longest first; at most ``limit`` of them."""
        limit = check_limit(limit)
        count = BIGGEST_INT if limit is None else min(limit, BIGGEST_INT)
        with self._connection() as db:
            rows = db.execute(self._sql.pending_numbers, (count,)).fetchall()
        return [_job_id(number) for (number,) in rows]

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status present, zeros included)."""
        with self._connection() as db:
            found = dict(db.execute(self._sql.counts).fetchall())
        return {status: found.get(status.value, 0) for status in JobStatus}

    def transitions(self, start: int = 0) -> list[Transition]:
        """The audit log from entry ``start`` on: every attempted change, in order."""
        check_int(start, "start", minimum=0)
        with self._connection() as db:
            rows = db.execute(self._sql.transitions, (min(start, BIGGEST_INT),)).fetchall()
        started = self._started
        return [
            Transition(
                at - started,
                job_id,
                None if from_status is None else JobStatus(from_status),
                JobStatus(to_status),
                bool(accepted),
                actor,
                detail,
                claim,
            )
            for at, job_id, from_status, to_status, accepted, actor, detail, claim in rows
        ]

    def all_settled(self) -> bool:
        """True when every job is completed, or failed with no attempts left."""
        with self._connection() as db:
            (unsettled,) = _one(db, self._sql.unsettled, ())
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
        with self._connection() as db:
            (size,) = _one(db, self._sql.size, ())
        return size

    def __repr__(self) -> str:
        if self._closed:
            return f"<{type(self).__name__} closed>"
        counts = ", ".join(f"{s.value}={n}" for s, n in self.counts().items())
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

    def _connect(self) -> Any:
        """A new connection to the database, in autocommit mode: transactions are begun and
        committed explicitly, so each is exactly as long as the store means it to be."""
        raise NotImplementedError

    def _is_idle(self, db: Any) -> bool:
        """True when ``db`` is open and in no transaction, fit to be used again."""
        raise NotImplementedError

    def _check_storable(self, text: str, name: str) -> None:
        """Refuse text that this database cannot store (a ``ValueError``), before anything
        starts: found while writing, it would fail the transaction with a less helpful error."""
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"{name} contains a lone surrogate, which is not text a database can hold"
                ) from None

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """Borrow an idle connection, or open one; give it back afterwards if it is still fit
        for use (a connection left in a broken transaction is closed instead)."""
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = self._connect()
        try:
            yield db
        finally:
            if self._closed or not self._is_idle(db):
                db.close()
            else:
                self._idle.put(db)

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises.

        The audit entries recorded in it are appended at the end, just before the commit
        (``_append_and_commit``): the audit log is appended to one transaction at a time, so
        each holds its turn for as short a time as possible.
        """
        with self._connection() as db:
            db.execute(self.dialect.begin)
            transaction = Transaction(db)
            try:
                yield transaction
                self._append_and_commit(db, transaction.entries)
            except BaseException:
                if not self._is_idle(db):
                    db.execute("ROLLBACK")
                raise

    def _append_and_commit(self, db: Any, entries: list[tuple]) -> None:
        """Append the transaction's audit entries, in order, and commit (see subclasses)."""
        if entries:
            self._take_turn_at_the_log(db)
            db.cursor().executemany(self._sql.record, entries)
        db.execute("COMMIT")

    def _create_schema(self, now: float) -> float:
        """Create the tables unless they exist, and return when the store was first made."""
        with self._transaction() as db:
            self._prepare_schema(db)
            for statement in self._sql.schema:
                db.execute(statement)
            db.execute(self._sql.start_the_clock, (now,))
            (started,) = _one(db, self._sql.started, ())
        return started

    def _prepare_schema(self, db: Any) -> None:
        """Whatever this database needs before the tables are created (see subclasses)."""

    def _take_turn_at_the_log(self, db: Any) -> None:
        """Wait until no other transaction is appending to the audit log (see subclasses)."""

    # --- outside the transaction: calling the caller's code --------------------------------

    def _actor(self, actor: str | None) -> str:
        actor = check_actor(actor) or threading.current_thread().name
        self._check_storable(actor, "actor")
        return actor

    # --- inside the transaction ----------------------------------------------------------

    def _locked(self, db: Any, job_id: str) -> Job:
        row = _one(db, self._sql.lock_job, (_number(job_id),))
        if row is None:
            raise JobNotFound(job_id)
        return _job(row)

    def _jobs(self, statement: str, parameters: tuple = ()) -> list[Job]:
        with self._connection() as db:
            return [_job(row) for row in db.execute(statement, parameters).fetchall()]

    def _claim(self, db: Any, job: Job, actor: str, at: float, lease: float) -> Job:
        claimed = next_snapshot(
            job,
            PROCESSING,
            attempts=job.attempts + 1,
            claim=job.claim + 1,
            claimed_by=actor,
            lease_expires_at=at + lease,
        )
        return self._save(db, job, claimed, actor, at, None, claimed.claim, lease)

    def _finish(
        self,
        db: Any,
        job: Job,
        to_status: JobStatus,
        last_error: str | None,
        permanent: bool,
        delay: float | None,
        actor: str,
        at: float,
        claim: int,
    ) -> Job:
        """An outcome: the job leaves processing; ``claim`` is the claim it is recorded under
        (the reporter's, which only a store without fencing lets differ from the job's)."""
        finished = next_snapshot(
            job,
            to_status,
            last_error=last_error,
            retry_at=None if delay is None else at + delay,
            permanent=permanent,
        )
        return self._save(db, job, finished, actor, at, last_error, claim or None)

    def _back_to_pending(
        self,
        db: Any,
        job: Job,
        attempts: int,
        actor: str,
        at: float,
        detail: str | None = None,
        claim: int | None = None,
    ) -> Job:
        pending = next_snapshot(job, PENDING, attempts=attempts)
        return self._save(db, job, pending, actor, at, detail, claim)

    def _save(
        self,
        db: Any,
        job: Job,
        updated: Job,
        actor: str,
        at: float,
        detail: str | None,
        claim: int | None,
        lease: float | None = None,
    ) -> Job:
        """Save a changed snapshot and its audit entry."""
        saved = self._write(db, job, updated, lease)
        self._record(db, at, job.id, job.status, updated.status, True, actor, detail, claim)
        return saved

    def _write(self, db: Any, job: Job, updated: Job, lease: float | None) -> Job:
        """Write ``updated`` over the row, if the row is still ``job`` (status and claim)."""
        row = _one(
            db,
            self._sql.save_job,
            (
                updated.status.value,
                updated.attempts,
                updated.last_error,
                updated.claim,
                updated.claimed_by,
                updated.lease_expires_at,
                lease,
                updated.retry_at,
                updated.permanent,
                updated.status is PENDING,
                _number(job.id),
                job.status.value,
                job.claim,
            ),
        )
        if row is None:  # the row lock makes this impossible; if it ever fails, say so loudly
            raise RuntimeError(f"job {job.id!r} changed while this transaction held it")
        return _job(row)

    def _record(
        self,
        db: Transaction,
        at: float,
        job_id: str,
        from_status: JobStatus | None,
        to_status: JobStatus,
        accepted: bool,
        actor: str,
        detail: str | None = None,
        claim: int | None = None,
    ) -> None:
        """Add one audit entry to the caller's transaction, appended as it commits. Its time
        is ``at``, or the last entry's if that is later (see ``Statements.record``)."""
        from_value = None if from_status is None else from_status.value
        entry = (at, at, job_id, from_value, to_status.value, accepted, actor, detail, claim)
        db.entries.append(entry)


class Transaction:
    """A connection inside one transaction, and the audit entries it will append as it
    commits. Statements run on the connection (``execute``)."""

    __slots__ = ("db", "entries")

    def __init__(self, db: Any) -> None:
        self.db = db
        self.entries: list[tuple] = []

    def execute(self, *statement: Any) -> Any:
        return self.db.execute(*statement)


def _one(db: Any, statement: str, parameters: tuple) -> tuple | None:
    """The first row a statement returns, or ``None``. The statement is run to its end, so
    a write with ``RETURNING`` is complete before the transaction commits."""
    rows = db.execute(statement, parameters).fetchall()
    return rows[0] if rows else None


def _job(row: tuple) -> Job:
    """The snapshot of one row of the ``jobs`` table (``JOB_COLUMNS``, in that order)."""
    (number, type_, status, payload, max_retries, attempts, last_error, created_at) = row[:8]
    (claim, claimed_by, lease_expires_at, retry_at, permanent) = row[8:13]
    return Job(
        _job_id(number),
        type_,
        JobStatus(status),
        freeze_payload(json.loads(payload)),
        max_retries,
        attempts,
        last_error,
        datetime.fromtimestamp(created_at, UTC),
        claim,
        claimed_by,
        lease_expires_at,
        retry_at,
        bool(permanent),
    )


def _job_id(number: int) -> str:
    """The id of the job in row ``number``: ``job-001``, as ``sequential_ids`` would name it."""
    return f"job-{number:03d}"


def _number(job_id: object) -> int:
    """The row number behind a job id, or ``JobNotFound`` for an id no job could have."""
    if isinstance(job_id, str) and job_id.startswith("job-"):
        digits = job_id[4:]
        if digits.isascii() and digits.isdigit() and len(digits) < 19:
            number = int(digits)
            if _job_id(number) == job_id:
                return number
    raise JobNotFound(job_id)  # type: ignore[arg-type]


def _check_fits(number: int | None, name: str) -> None:
    if number is not None and number > BIGGEST_INT:
        raise ValueError(f"{name} must be at most {BIGGEST_INT} to fit a database column")


def _close_all(idle: queue.SimpleQueue) -> None:
    while True:
        try:
            idle.get_nowait().close()
        except queue.Empty:
            return
