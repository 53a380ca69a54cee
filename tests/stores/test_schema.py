"""Which databases a SQL store takes as its own: an empty one (it makes its tables there and marks
them as its own), one it marked, and one made by version 1 of the store; never another program's
tables that share a name with the store's, beside which it adds nothing."""

from __future__ import annotations

import sqlite3

import pytest

from jobqueue_lab import UnusableDatabase
from jobqueue_lab.stores.statements import SCHEMA_VERSION, STORE, VERSION_1
from jobqueue_lab.stores.urls import open_store


class Database:
    """A database to open stores on, and a connection of the test's own to set it up and look."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url

    def open(self):
        return open_store(self.url)

    def run(self, *statements: str) -> None:
        with self._connect() as db:
            for statement in statements:
                db.execute(statement)

    def rows(self, statement: str) -> list[tuple]:
        with self._connect() as db:
            return [tuple(row) for row in db.execute(statement).fetchall()]

    def columns(self, table: str) -> frozenset[str]:
        with self._connect() as db:
            return frozenset(c[0] for c in db.execute(f"SELECT * FROM {table} LIMIT 0").description)

    def everything(self) -> dict[str, object]:
        """Every table, index, sequence and view, every row of every table and, on SQLite, the
        journal mode: what a refused store must leave as it found it."""
        if self.kind == "sqlite":
            names = self.rows("SELECT type, name FROM sqlite_master ORDER BY name")
            tables = [name for kind, name in names if kind == "table"]
            found: dict[str, object] = {"journal": self.rows("PRAGMA journal_mode")}
        else:
            names = self.rows(
                "SELECT relkind::text, relname FROM pg_class "
                "WHERE relnamespace = current_schema()::regnamespace ORDER BY relname"
            )
            tables = [name for kind, name in names if kind == "r"]
            found = {}
        found["names"] = names
        for table in tables:
            found[table] = sorted(self.rows(f"SELECT * FROM {table}"), key=repr)
        return found

    def _connect(self):
        if self.kind == "sqlite":
            db = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            return _Closing(db)
        import psycopg

        return psycopg.connect(self.url, autocommit=True)


class _Closing:
    """A sqlite3 connection that closes at the end of a ``with`` (sqlite3's only commits)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc_info: object) -> None:
        self.db.close()


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def database(request, tmp_path):
    """An empty database of each kind: a new SQLite file, or an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return Database("sqlite", f"sqlite:///{tmp_path / 'jobs.db'}")
    server = request.getfixturevalue("postgres_server")
    return Database("postgres", server.new_schema())


# --- databases the store takes as its own ------------------------------------------------------


def test_an_empty_database_gets_every_table_marked_as_the_stores(database):
    with database.open() as store:
        job = store.create_job("t")
    assert database.rows("SELECT store, schema_version FROM store_info") == [
        (STORE, SCHEMA_VERSION)
    ]
    # VERSION_1 tells a version 1 database by its columns: it must say what the store makes.
    marker = {"store", "schema_version"}
    assert {table: database.columns(table) for table in VERSION_1} == {
        **VERSION_1,
        "store_info": VERSION_1["store_info"] | marker,
    }
    with database.open() as reopened:
        assert reopened.list_jobs() == [job]


def test_a_database_made_by_version_1_is_known_by_its_columns_and_marked(database):
    with database.open() as store:
        job = store.create_job("t")
        log = store.transitions()
    database.run(  # version 1's store_info: the time the store was made, and no marker
        "ALTER TABLE store_info DROP COLUMN store",
        "ALTER TABLE store_info DROP COLUMN schema_version",
    )
    with database.open() as upgraded:
        assert upgraded.list_jobs() == [job] and upgraded.transitions() == log
        upgraded.claim_job(job.id)
    assert database.rows("SELECT store, schema_version FROM store_info") == [
        (STORE, SCHEMA_VERSION)
    ]
    with database.open() as reopened:
        assert reopened.get_job(job.id).claim == 1


# --- databases it refuses, adding nothing ------------------------------------------------------

FOREIGN = {
    "an audit table": (
        ["CREATE TABLE audit (id INTEGER, what TEXT)", "INSERT INTO audit VALUES (1, 'login')"],
        "it has tables named audit but no jobs, store_info, so they are another program's; "
        "the store will not add its tables beside them",
    ),
    "a jobs table": (
        ["CREATE TABLE jobs (id INTEGER, name TEXT)", "INSERT INTO jobs VALUES (7, 'backup')"],
        "it has tables named jobs but no audit, store_info, so they are another program's",
    ),
    "tables of every name, unmarked": (
        [
            "CREATE TABLE store_info (owner TEXT)",
            "INSERT INTO store_info VALUES ('billing')",
            "CREATE TABLE jobs (id INTEGER)",
            "CREATE TABLE audit (id INTEGER)",
        ],
        "it has tables named audit, jobs, store_info, but store_info does not mark them as a "
        "jobqueue-lab store",
    ),
}


@pytest.mark.parametrize("foreign", FOREIGN, ids=list(FOREIGN))
def test_another_programs_tables_are_refused_and_nothing_is_added_beside_them(database, foreign):
    statements, reason = FOREIGN[foreign]
    database.run(*statements)
    before = database.everything()
    with pytest.raises(UnusableDatabase, match="open the store on a new database") as refused:
        database.open()
    assert reason in refused.value.reason
    assert str(refused.value).startswith("cannot keep jobs in ")
    assert database.everything() == before


def test_tables_of_version_1_with_other_columns_are_refused(database):
    with database.open():
        pass
    database.run(
        "ALTER TABLE store_info DROP COLUMN store",
        "ALTER TABLE store_info DROP COLUMN schema_version",
        "ALTER TABLE audit ADD COLUMN note TEXT",
    )
    before = database.everything()
    with pytest.raises(UnusableDatabase, match="does not mark them as a jobqueue-lab store"):
        database.open()
    assert database.everything() == before


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        (
            f"store = '{STORE}', schema_version = 3",
            f"it is a {STORE} store of schema version 3, and this version of {STORE} reads "
            f"version {SCHEMA_VERSION}: open it with the {STORE} that made it",
        ),
        ("store = 'billing'", f"store_info does not mark them as a {STORE} store"),
    ],
    ids=["another version", "another store"],
)
def test_a_database_marked_otherwise_is_refused(database, marker, reason):
    with database.open() as store:
        store.create_job("t")
    database.run(f"UPDATE store_info SET {marker}")
    before = database.everything()
    with pytest.raises(UnusableDatabase) as refused:
        database.open()
    assert reason in refused.value.reason
    assert database.everything() == before


@pytest.mark.postgres
def test_the_postgres_store_names_its_database_without_the_password(postgres_server):
    url = postgres_server.new_schema()
    Database("postgres", url).run("CREATE TABLE audit (id INTEGER)")
    with pytest.raises(UnusableDatabase) as refused:
        open_store(url.replace("jobqueue@", "jobqueue:secret@", 1))
    assert "secret" not in str(refused.value) and "search_path=store_" in refused.value.where
