"""What the SQL stores add to the contract: a database that outlives the store object and is
shared by several of them, ids and times that every process agrees on, connections to close,
store URLs, and the few limits of each database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobqueue_lab import (
    COMPLETED,
    FAILED,
    PENDING,
    InMemoryJobStore,
    JobNotFound,
    ManualClock,
    WorkerPool,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.checks import find_violations
from jobqueue_lab.stores.postgres import PostgresJobStore
from jobqueue_lab.stores.sqlite import SQLiteJobStore
from jobqueue_lab.stores.urls import open_store, redacted
from tests.support import run_with_deadline

ROOT = Path(__file__).resolve().parents[2]


# --- one database, many store objects ------------------------------------------------------


def test_a_reopened_store_holds_every_job_and_the_whole_audit_log(make_sql_store):
    store = make_sql_store()
    first = store.create_job("email", {"to": "ada@example.org", "tags": ["a"]}, max_retries=2)
    store.claim_job(first.id, actor="worker-1")
    store.update_status(first.id, FAILED, "SMTP timeout", claim=1)
    jobs, log = store.list_jobs(), store.transitions()
    store.close()
    reopened = make_sql_store.reopen(store)
    assert reopened.list_jobs() == jobs
    assert reopened.transitions() == log, "times still count from the database's creation"
    assert reopened.create_job("t").id == "job-002"
    assert reopened.retry_failed_jobs()[0].id == first.id
    assert reopened.claim_job(first.id).claim == 2, "claim numbers go on where they were"


def test_store_objects_sharing_a_database_never_hand_out_the_same_id(make_sql_store):
    one = make_sql_store()
    other = make_sql_store.reopen(one)
    ids = [store.create_job("t").id for _ in range(5) for store in (one, other)]
    assert ids == [f"job-{n:03d}" for n in range(1, 11)]
    assert [job.id for job in other.list_jobs()] == ids


def test_audit_times_never_go_backwards_even_when_two_clocks_disagree(make_sql_store):
    ahead, behind = ManualClock(2000.0), ManualClock(1000.0)
    store = make_sql_store(clock=ahead)
    other = make_sql_store.reopen(store, clock=behind)
    store.create_job("t")
    other.create_job("t")
    ahead.advance(5)
    store.create_job("t")
    assert [t.at for t in store.transitions()] == [0.0, 0.0, 5.0]


@pytest.mark.parametrize(
    "job_id", ["job-1", "job-0001", "JOB-001", "job-", "job-x01", "job-" + "9" * 30, 1, None]
)
def test_an_id_no_job_could_have_is_not_found(make_sql_store, job_id):
    store = make_sql_store()
    store.create_job("t")
    with pytest.raises(JobNotFound):
        store.get_job(job_id)
    with pytest.raises(JobNotFound):
        store.claim_job(job_id)
    assert len(store.transitions()) == 1


def test_numbers_a_database_column_cannot_hold_are_refused(make_sql_store):
    store = make_sql_store()
    with pytest.raises(ValueError, match="max_retries must be at most 9223372036854775807"):
        store.create_job("t", max_retries=2**63)
    job = store.create_job("t")
    store.claim_job(job.id)
    with pytest.raises(ValueError, match="claim must be at most"):
        store.update_status(job.id, COMPLETED, claim=2**64)
    assert store.get_job(job.id).status is not COMPLETED


def test_threads_of_a_pool_share_a_sql_store_and_keep_every_invariant(make_sql_store):
    store = make_sql_store()
    handler = simulated_work(fail=fail_by_type("email"))
    with WorkerPool(store, workers=4, handler=handler, sweeper_interval=0.01) as pool:
        created = [
            pool.submit("email" if n % 3 == 0 else "report", max_retries=2).id for n in range(60)
        ]
        assert pool.wait(timeout=60)
    assert store.counts()[COMPLETED] == 40
    assert find_violations(store.list_jobs(), store.transitions(), created=created) == []


OPENER = """
import sys
from jobqueue_lab.stores.urls import open_store

for url in sys.stdin:
    try:
        with open_store(url.strip()) as store:
            print(store.create_job("t").id, flush=True)
    except Exception as error:
        print(f"{type(error).__name__}: {error}", flush=True)
"""
"""A process that opens each store URL it reads, as soon as it reads it, and makes one job."""

OPENERS = 8
ROUNDS = {"sqlite": 120, "postgres": 15}
"""Rounds of openers meeting at a new database. While SQLite's switch to WAL mode did not wait
its turn, an opener failed in 1 round in 10 to 30: 120 rounds all but always catch that."""


@pytest.mark.stress
def test_processes_opening_a_new_database_at_once_create_it_once(make_sql_store, tmp_path):
    def new_database(round_number):
        if make_sql_store.kind == "sqlite":
            return f"sqlite:///{tmp_path / f'fresh-{round_number}.db'}"
        return make_sql_store.url(make_sql_store())  # an empty schema

    def open_together(openers, url):
        for opener in openers:  # each reads the URL and opens it at once: they meet there
            opener.stdin.write(f"{url}\n")
            opener.stdin.flush()
        return sorted(opener.stdout.readline().strip() for opener in openers)

    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(OPENERS)
    ]
    try:
        urls = [new_database(n) for n in range(ROUNDS[make_sql_store.kind])]
        rounds = run_with_deadline(lambda: [open_together(openers, u) for u in urls], 120)
    finally:
        for opener in openers:
            opener.stdin.close()
            opener.wait(timeout=60)
    each_once = [f"job-{n:03d}" for n in range(1, OPENERS + 1)]
    assert [ids for ids in rounds if ids != each_once] == []


# --- connections ---------------------------------------------------------------------------


def test_a_closed_store_refuses_to_be_used_and_says_so(make_sql_store):
    with make_sql_store() as store:
        store.create_job("t")
    assert repr(store) == f"<{type(store).__name__} closed>"
    with pytest.raises(RuntimeError, match="is closed"):
        store.list_jobs()
    with pytest.raises(RuntimeError, match="is closed"):
        store.create_job("t")


def test_a_refused_write_leaves_its_connection_fit_for_the_next(make_sql_store):
    store = make_sql_store()
    job = store.create_job("t")
    for _ in range(3):
        with pytest.raises(JobNotFound):
            store.update_status("job-404", COMPLETED)
        with pytest.raises(ValueError):
            store.update_status(job.id, COMPLETED)  # pending -> completed is not allowed
    assert store.claim_job(job.id).claim == 1


# --- store URLs ----------------------------------------------------------------------------


def test_open_store_reads_the_kind_of_store_from_the_url(tmp_path, monkeypatch):
    assert isinstance(open_store("memory://", lease_seconds=5), InMemoryJobStore)
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative.db") as relative:
        assert relative.path == tmp_path / "relative.db" and relative.path.exists()
    with open_store(f"sqlite:///{tmp_path / 'absolute.db'}", lease_seconds=5) as absolute:
        assert absolute.path == tmp_path / "absolute.db" and absolute.lease_seconds == 5


@pytest.mark.postgres
def test_open_store_passes_a_postgresql_url_to_psycopg(postgres_server):
    url = postgres_server.new_schema()
    with open_store(url) as store:
        assert isinstance(store, PostgresJobStore) and store.dsn == url
    with open_store(url.replace("postgresql://", "postgres://", 1)) as same:
        assert same.list_jobs() == []


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("sqlite://", ValueError, "unknown store URL 'sqlite://'"),
        ("sqlite:///", ValueError, "store URL 'sqlite:///' names no file"),
        ("sqlite:///:memory:", ValueError, "names no file: write sqlite:///PATH"),
        ("postgresql://u@h/db?nonsense=1", ValueError, 'invalid URI query parameter: "nonsense"'),
        ("mysql://localhost/jobs", ValueError, "must start with one of memory://, sqlite:///"),
        ("", ValueError, "unknown store URL"),
        (None, TypeError, "a store URL must be a str, got NoneType"),
    ],
)
def test_open_store_refuses_a_url_it_cannot_open(url, error, message):
    with pytest.raises(error, match=message):
        open_store(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresq://jobs:hunter2@db.example/jobs",
        "postgresql://jobs:hunter2@db.example/jobs?port=x&nonsense=1",
        "host=db.example user=jobs password=hunter2",
        "host=db.example password='hunter2 and more' user=jobs",
    ],
)
def test_no_error_about_a_store_url_shows_its_password(url):
    with pytest.raises(ValueError) as refused:
        open_store(url)
    assert "hunter2" not in str(refused.value)
    assert "***" in str(refused.value), "the URL is shown, its password redacted"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://jobs:hunter2@db/jobs", "postgresql://jobs:***@db/jobs"),
        ("postgres://jobs:hun@ter2@db:5432/jobs", "postgres://jobs:***@db:5432/jobs"),
        (
            "postgresql://jobs@db/jobs?password=hunter2&x=1",
            "postgresql://jobs@db/jobs?password=***&x=1",
        ),
        ("dbname=jobs password='hunter 2\\'' user=jobs", "dbname=jobs password=*** user=jobs"),
        ("could not open sqlite:///a:b@c.db", "could not open sqlite:///a:b@c.db"),
    ],
)
def test_redacted_hides_the_password_of_every_url_and_dsn_and_nothing_else(text, shown):
    assert redacted(text) == shown


# --- each database's own ---------------------------------------------------------------------


def test_sqlite_stores_in_wal_mode_and_refuses_what_is_not_a_file(tmp_path):
    with SQLiteJobStore(tmp_path / "jobs.db") as store, store._connection() as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (2,), "FULL"
    for path in (":memory:", ""):
        with pytest.raises(ValueError, match="for a store in memory, use InMemoryJobStore"):
            SQLiteJobStore(path)
    with pytest.raises(TypeError, match="path must be a str or a path, got int"):
        SQLiteJobStore(3)


def test_text_with_a_lone_surrogate_is_refused_before_anything_changes(make_sql_store):
    store = make_sql_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    before = store.list_jobs(), store.transitions()
    for write in (
        lambda: store.create_job("a\ud800b"),
        lambda: store.create_job("t", actor="worker\udfff"),
        lambda: store.update_status(job.id, FAILED, "bad \ud800 text"),
    ):
        with pytest.raises(ValueError, match="contains a lone surrogate"):
            write()
    assert (store.list_jobs(), store.transitions()) == before
    store.update_status(job.id, FAILED, "ünïcödé ✓ 🐍", claim=1)
    assert store.get_job(job.id).last_error == "ünïcödé ✓ 🐍"


@pytest.mark.postgres
def test_postgres_refuses_text_with_a_nul_character_and_changes_nothing(postgres_server):
    with PostgresJobStore(postgres_server.new_schema()) as store:
        job = store.create_job("t")
        store.claim_job(job.id)
        before = store.list_jobs(), store.transitions()
        for write in (
            lambda: store.create_job("a\x00b"),
            lambda: store.create_job("t", actor="worker\x00"),
            lambda: store.update_status(job.id, FAILED, "bad\x00byte"),
        ):
            with pytest.raises(ValueError, match="contains a NUL character"):
                write()
        assert (store.list_jobs(), store.transitions()) == before


@pytest.mark.postgres
def test_postgres_times_come_from_the_database_clock(postgres_server):
    import psycopg

    url = postgres_server.new_schema()

    def database_now():
        with psycopg.connect(url) as db:
            return db.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()[0]

    with PostgresJobStore(url, lease_seconds=30) as store:
        before = database_now()
        claimed = store.claim_job(store.create_job("t").id)
        after = database_now()
    assert before <= claimed.lease_expires_at - 30 <= after


def test_the_postgres_store_says_how_to_install_psycopg_when_it_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ImportError, match=r"pip install 'jobqueue-lab\[postgres\]'"):
        PostgresJobStore("postgresql:///nowhere")


def test_importing_the_package_does_not_import_psycopg():
    code = "import sys, jobqueue_lab, jobqueue_lab.stores.urls; print('psycopg' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_pending_job_waits_in_line_behind_the_jobs_already_there(make_sql_store):
    store = make_sql_store()
    first, second = store.create_job("t").id, store.create_job("t").id
    store.claim_next()
    store.update_status(first, FAILED, "boom")
    store.retry_failed_jobs()
    third = store.create_job("t").id
    assert store.pending_ids() == [second, first, third]
    assert [job.status for job in store.list_jobs()] == [PENDING] * 3
    assert store.claim_next().id == second
