"""The SQL of the SQL stores, written once: every statement they run, with a few blanks that
each database fills in its own words (a ``Dialect``).

SQLite and PostgreSQL agree on almost everything a job store needs, ``UPDATE ... RETURNING``
included. They differ in how a write transaction starts, how a key is numbered, how rows are
locked, and how a parameter is written; ``SQLiteJobStore`` and ``PostgresJobStore`` each give
one ``Dialect`` that says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..domain import FAILED, PROCESSING, statuses_that_may_become


@dataclass(frozen=True)
class Dialect:
    """The words in which one database fills the blanks that ``Statements`` leaves."""

    placeholder: str
    """Where a parameter goes: ``?`` or ``%s``."""
    begin: str
    """How a transaction that will write starts."""
    key: str
    """A primary key column of numbers that the database hands out and never reuses."""
    back_of_the_line: str
    """The next place in the line of pending jobs, for a job that becomes pending."""
    lock_rows: str
    """Added to a ``SELECT`` to lock the rows it reads until the transaction ends."""
    skip_locked: str
    """Added to a ``SELECT`` to lock the rows it finds, passing over rows another transaction
    holds (they are busy now; the next look will find them)."""
    no_limit: str
    """A ``LIMIT`` that limits nothing."""
    greater: str
    """The function that returns the greater of two numbers."""
    names_in_use: str
    """A query for the names of everything (tables, indexes, views, ...) where the store keeps
    its tables: the SQLite file, or on PostgreSQL the first schema on the search path."""
    made_first: tuple[str, ...] = ()
    """Statements that make what the tables need, before them (PostgreSQL's line of pending
    jobs takes its places from a sequence)."""


JOB_COLUMNS = (
    "number, type, status, payload, max_retries, attempts, last_error, created_at, "
    "claim, claimed_by, lease_expires_at, lease_seconds, retry_at, permanent"
)

# The rules of ``domain`` said in SQL, so the database can find the jobs a write may concern.
# They only choose candidates: each one found is decided again in Python, and a test checks
# that these conditions agree with the rules they are written from.
CLAIMABLE = "status IN ({})".format(
    ", ".join(f"'{status.value}'" for status in sorted(statuses_that_may_become(PROCESSING)))
)
"""The statuses the transition table lets a job be claimed from."""

RETRYABLE = f"status = '{FAILED.value}' AND NOT permanent AND attempts < max_retries"
"""``domain.may_retry``."""

LEASE_EXPIRED = f"status = '{PROCESSING.value}' AND lease_expires_at <= ?"
"""``domain.lease_expired``, for a processing job, at the time given."""

STORE = "jobqueue-lab"
"""The name ``store_info`` gives, to mark the tables beside it as this store's."""

SCHEMA_VERSION = 2
"""The version of the tables in ``Statements.schema``, kept in ``store_info`` beside ``STORE``."""

VERSION_1 = {
    "store_info": frozenset({"started"}),
    "jobs": frozenset({*JOB_COLUMNS.split(", "), "queue_position"}),
    "audit": frozenset(
        [
            "position",
            "at",
            "job_id",
            "from_status",
            "to_status",
            "accepted",
            "actor",
            "detail",
            "claim",
            "lease_seconds",
        ]
    ),
}
"""The store's tables, and their columns, as version 1 made them: the tables of version 2,
without the marker in ``store_info`` (``store`` and ``schema_version``)."""


class Statements:
    """Every statement the SQL stores run, written once. A name in braces is a blank that the
    store's ``Dialect`` fills in; ``{job}`` stands for the columns a ``Job`` is made from."""

    # Made all at once, in a database that has none of them (``SQLJobStore._create_schema``).
    schema = (
        """CREATE TABLE store_info (
            store TEXT NOT NULL,
            schema_version BIGINT NOT NULL,
            started DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE jobs (
            number {key},
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            payload TEXT NOT NULL,
            max_retries BIGINT NOT NULL,
            attempts BIGINT NOT NULL,
            last_error TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            claim BIGINT NOT NULL,
            claimed_by TEXT,
            lease_expires_at DOUBLE PRECISION,
            lease_seconds DOUBLE PRECISION,
            retry_at DOUBLE PRECISION,
            permanent BOOLEAN NOT NULL,
            queue_position BIGINT NOT NULL
        )""",
        "CREATE INDEX jobs_by_status ON jobs (status, number)",
        "CREATE INDEX jobs_in_line ON jobs (status, queue_position)",
        f"CREATE INDEX jobs_to_retry ON jobs (number) WHERE {RETRYABLE}",
        """CREATE TABLE audit (
            position {key},
            at DOUBLE PRECISION NOT NULL,
            job_id TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            accepted BOOLEAN NOT NULL,
            actor TEXT NOT NULL,
            detail TEXT,
            claim BIGINT,
            lease_seconds DOUBLE PRECISION
        )""",
    )
    mark_the_store = "INSERT INTO store_info (store, schema_version, started) VALUES (?, ?, ?)"
    # A version 1 database's one row gains the marker as the new columns' values.
    mark_version_1 = (
        f"ALTER TABLE store_info ADD COLUMN store TEXT NOT NULL DEFAULT '{STORE}'",
        f"ALTER TABLE store_info ADD COLUMN schema_version BIGINT NOT NULL "
        f"DEFAULT {SCHEMA_VERSION}",
    )
    marks = "SELECT store, schema_version FROM store_info"
    # The columns of a table, read from the answer's description; ``{table}`` is filled in
    # with one of the store's table names, never with outside text.
    columns_of = "SELECT * FROM {{table}} LIMIT 0"
    started = "SELECT started FROM store_info"

    create_job = """
        INSERT INTO jobs (type, status, payload, max_retries, attempts, created_at, claim,
                          permanent, queue_position)
        VALUES (?, 'pending', ?, ?, 0, ?, 0, FALSE, {back_of_the_line})
        RETURNING {job}"""
    get_job = "SELECT {job} FROM jobs WHERE number = ?"
    lock_job = "SELECT {job} FROM jobs WHERE number = ?{lock_rows}"
    # The one write every change goes through: the new snapshot, saved only over the row
    # it was decided on (same status, same claim); a job that becomes pending joins the line.
    save_job = """
        UPDATE jobs SET status = ?, attempts = ?, last_error = ?, claim = ?, claimed_by = ?,
            lease_expires_at = ?, lease_seconds = ?, retry_at = ?, permanent = ?,
            queue_position = CASE WHEN ? THEN {back_of_the_line} ELSE queue_position END
        WHERE number = ? AND status = ? AND claim = ?"""
    # The candidates of the writes that look for their jobs, locked; rows another
    # transaction holds are passed over, so no worker or sweeper waits for another.
    next_in_line = f"""
        SELECT {{job}} FROM jobs WHERE {CLAIMABLE}
        ORDER BY queue_position LIMIT 1{{skip_locked}}"""
    due_for_retry = f"""
        SELECT {{job}} FROM jobs WHERE {RETRYABLE} AND (retry_at IS NULL OR retry_at <= ?)
        ORDER BY number{{skip_locked}}"""
    lease_expired = f"""
        SELECT {{job}} FROM jobs WHERE {LEASE_EXPIRED}
        ORDER BY number{{skip_locked}}"""

    all_jobs = "SELECT {job} FROM jobs ORDER BY number"
    jobs_in = "SELECT {job} FROM jobs WHERE status = ? ORDER BY number"
    pending_numbers = """
        SELECT number FROM jobs WHERE status = 'pending' ORDER BY queue_position LIMIT ?"""
    counts = "SELECT status, count(*) FROM jobs GROUP BY status"
    size = "SELECT count(*) FROM jobs"
    unsettled = f"""
        SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN ('pending', 'processing'))
            OR EXISTS (SELECT 1 FROM jobs WHERE {RETRYABLE})"""

    # The entry's time is the writer's, or the last entry's if that is later: two writers may
    # read the clock in one order and reach the log in the other, and the log's times never
    # go backwards, so they always agree with its order. (The time is given twice: the last
    # entry's is missing while the log is empty.)
    record = """
        INSERT INTO audit (at, job_id, from_status, to_status, accepted, actor, detail, claim,
                           lease_seconds)
        VALUES (
            coalesce({greater}(?, (SELECT at FROM audit ORDER BY position DESC LIMIT 1)), ?),
            ?, ?, ?, ?, ?, ?, ?, ?
        )"""
    transitions = """
        SELECT at, job_id, from_status, to_status, accepted, actor, detail, claim, lease_seconds
        FROM audit ORDER BY position LIMIT {no_limit} OFFSET ?"""

    def __init__(self, dialect: Dialect) -> None:
        words = {**asdict(dialect), "job": JOB_COLUMNS}

        def fill(template: str) -> str:
            return template.format(**words).replace("?", dialect.placeholder)

        for name, template in vars(Statements).items():
            if isinstance(template, str) and not name.startswith("_"):
                setattr(self, name, fill(template))
        self.schema = dialect.made_first + tuple(fill(t) for t in Statements.schema)
        self.names_in_use = dialect.names_in_use
        self.mark_version_1 = tuple(fill(template) for template in Statements.mark_version_1)
