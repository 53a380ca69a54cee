"""What the SQL stores and their workers do when the database misbehaves: a PostgreSQL server
that restarts or is down, a session frozen in the middle of a change, and handler errors whose
text a database cannot hold.

The PostgreSQL tests run on a server of their own (this module stops and restarts it), each
store in a fresh schema. A "frozen" process is played by a thread that opens a change and then
waits: to the server, that is exactly a process stopped between two statements.
"""

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobqueue_lab import (
    JobStatus,
    ManualClock,
    PermanentFailure,
    PostgresJobStore,
    StoreUnavailable,
    heartbeat,
)
from jobqueue_lab.stores import postgres
from tests.postgres_server import throwaway_server
from tests.steps import START, worker_here
from tests.support import run_with_deadline

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


@pytest.fixture(scope="module")
def server():
    """A server of this module's own: its tests stop and restart it."""
    yield from throwaway_server()


@pytest.fixture
def open_store(server):
    """Opens stores on one fresh schema of the module's server; closes them afterwards."""
    dsn, stores = server.new_schema(), []

    def open_store(**options):
        stores.append(PostgresJobStore(dsn, **options))
        return stores[-1]

    yield open_store
    for store in stores:
        store.close()


def _fill_the_pool(store, connections=3):
    """Make the store keep ``connections`` idle connections, as a busy process would."""
    borrowed = [store._borrow("testing")[0] for _ in range(connections)]
    for db in borrowed:
        store._give_back(db)
    assert store._idle.qsize() == connections


class Frozen:
    """A session stopped in the middle of a change: it has read (and locked) a job's row and
    says nothing more until ``thaw()``. What happened to it is in ``error``."""

    def __init__(self, store, job_id):
        self.holding, self.thawed, self.error = threading.Event(), threading.Event(), None
        self.thread = threading.Thread(target=self._run, args=(store, job_id), daemon=True)
        self.thread.start()
        assert self.holding.wait(10), "the frozen session never took its lock"

    def _run(self, store, job_id):
        try:
            with store._changing() as place:
                store._read(place, job_id)
                self.holding.set()
                self.thawed.wait(60)
        except Exception as error:
            self.error = error

    def thaw(self):
        self.thawed.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


# --- a server that restarts, or is down -----------------------------------------------------


@pytest.mark.postgres
def test_after_a_restart_the_next_call_finds_the_server_again(server, open_store):
    store = open_store()
    job = store.create_job("email")
    _fill_the_pool(store)
    server.pause()
    server.resume()
    assert store.get_job(job.id).status is PENDING
    claimed = store.claim_next()
    assert store.update_status(job.id, COMPLETED, claim=claimed.claim).status is COMPLETED
    assert store.create_job("email").id == "job-002"


@pytest.mark.postgres
def test_a_change_while_the_server_is_down_says_it_was_not_made(server, open_store):
    store = open_store()
    store.create_job("email")
    server.pause()
    try:
        with pytest.raises(StoreUnavailable) as caught:
            store.create_job("email")
        with pytest.raises(StoreUnavailable):
            store.get_job("job-001")
        shown = repr(store)
    finally:
        server.resume()
    assert caught.value.committed is False
    assert str(caught.value).endswith("; nothing was changed")
    assert shown == "<PostgresJobStore (the database cannot be reached)>"
    assert [job.id for job in store.list_jobs()] == ["job-001"]
    assert store.create_job("email").id == "job-002"


class _Said(logging.Handler):
    """Sets ``heard`` when a log record's message contains ``words``."""

    def __init__(self, words):
        super().__init__()
        self.words, self.heard = words, threading.Event()

    def emit(self, record):
        if self.words in record.getMessage():
            self.heard.set()


@pytest.mark.postgres
def test_a_report_waits_for_the_server_instead_of_being_dropped(server, open_store):
    store = open_store()
    job = store.claim_job(store.create_job("email", max_retries=1).id)
    said = _Said("could not send the report for job-001 yet")
    logger = logging.getLogger("jobqueue_lab.worker")
    level = logger.level

    def bring_it_back():
        said.heard.wait(30)  # the worker has found the server gone (or the wait ran out)
        server.resume()

    reviver = threading.Thread(target=bring_it_back, daemon=True)

    def handler(job):
        server.pause()  # the database restarts while the handler runs
        reviver.start()

    logger.addHandler(said)
    logger.setLevel(logging.INFO)
    try:
        run_with_deadline(lambda: worker_here(store, handler, lease_seconds=60).process(job), 60)
    finally:
        logger.removeHandler(said)
        logger.setLevel(level)
        if reviver.ident is not None:
            reviver.join(60)  # the server is up again before the next test starts
    assert said.heard.is_set()
    done = store.get_job(job.id)
    assert (done.status, done.attempts, done.last_error) == (COMPLETED, 1, None)


@pytest.mark.postgres
def test_a_heartbeat_that_cannot_reach_the_store_does_not_fail_the_job(server, open_store):
    store = open_store()
    job = store.claim_job(store.create_job("email").id)
    beats = []

    def handler(job):
        server.pause()
        try:
            beats.append(heartbeat())
        finally:
            server.resume()

    run_with_deadline(lambda: worker_here(store, handler, lease_seconds=60).process(job), 60)
    assert beats == [True]
    assert store.get_job(job.id).status is COMPLETED


# --- a session frozen in the middle of a change --------------------------------------------


def _two_lost_jobs(store, clock):
    """Two processing jobs whose leases have run out."""
    jobs = [store.claim_job(store.create_job("t").id, lease_seconds=5) for _ in range(2)]
    clock.advance(10)
    return jobs


@pytest.mark.postgres
def test_recovery_passes_over_a_job_a_frozen_session_holds(open_store):
    clock = ManualClock(START)
    store, sweeper = open_store(clock=clock), open_store(clock=clock)
    held, lost = _two_lost_jobs(store, clock)
    frozen = Frozen(store, held.id)
    try:
        recovered = run_with_deadline(lambda: sweeper.recover_expired_leases(), 30)
        assert not frozen.thawed.is_set()
    finally:
        frozen.thaw()
    assert [job.id for job in recovered] == [lost.id]
    assert [job.id for job in sweeper.recover_expired_leases()] == [held.id]


@pytest.mark.postgres
def test_retrying_passes_over_a_job_a_frozen_session_holds(open_store):
    store, sweeper = open_store(), open_store()
    jobs = [store.claim_job(store.create_job("t").id) for _ in range(2)]
    for job in jobs:
        store.update_status(job.id, FAILED, "boom", claim=job.claim)
    frozen = Frozen(store, jobs[0].id)
    try:
        retried = run_with_deadline(lambda: sweeper.retry_failed_jobs(), 30)
    finally:
        frozen.thaw()
    assert [job.id for job in retried] == [jobs[1].id]


@pytest.mark.postgres
def test_a_call_waits_only_so_long_for_a_row_a_frozen_session_holds(monkeypatch, open_store):
    store = open_store()
    monkeypatch.setattr(postgres, "LOCK_WAIT", 0.5)
    other = open_store()
    job = store.claim_job(store.create_job("t").id)
    frozen = Frozen(store, job.id)
    try:
        with pytest.raises(StoreUnavailable, match="lock") as caught:
            run_with_deadline(lambda: other.update_status(job.id, COMPLETED, claim=1), 30)
    finally:
        frozen.thaw()
    assert caught.value.committed is False
    assert other.get_job(job.id).status is PROCESSING
    assert other.update_status(job.id, COMPLETED, claim=1).status is COMPLETED


@pytest.mark.postgres
def test_a_frozen_holder_of_the_audit_logs_turn_stops_no_writer_for_ever(
    monkeypatch, server, open_store
):
    import psycopg

    monkeypatch.setattr(postgres, "LOCK_WAIT", 0.5)
    store = open_store()
    with psycopg.connect(server.dsn(), autocommit=True) as frozen:
        frozen.execute("BEGIN")
        frozen.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.LOG_LOCK,))
        with pytest.raises(StoreUnavailable):
            run_with_deadline(lambda: store.create_job("t"), 30)
        frozen.execute("ROLLBACK")
    assert store.list_jobs() == []
    created = store.create_job("t")
    assert store.list_jobs() == [created]


@pytest.mark.postgres
def test_the_server_ends_a_session_frozen_in_a_change_and_frees_its_job(
    monkeypatch, open_store
):
    monkeypatch.setattr(postgres, "FROZEN_SESSION", 0.3)
    store = open_store()
    monkeypatch.setattr(postgres, "FROZEN_SESSION", 60.0)
    other = open_store()
    job = store.claim_job(store.create_job("t").id)
    frozen = Frozen(store, job.id)
    try:
        done = run_with_deadline(lambda: other.update_status(job.id, COMPLETED, claim=1), 30)
    finally:
        frozen.thaw()
    assert done.status is COMPLETED
    assert isinstance(frozen.error, StoreUnavailable)
    assert other.get_job(job.id).status is COMPLETED


# --- a worker waiting for work --------------------------------------------------------------


class WorkerThread:
    """One thread that waits for work, as a worker's does (each listens on a connection of
    its own); ``wait(timeout)`` runs ``wait_for_work`` there and gives its answer."""

    def __init__(self, store):
        self.store, self.thread = store, ThreadPoolExecutor(max_workers=1)

    def wait(self, timeout):
        return self.thread.submit(self.store.wait_for_work, timeout).result(timeout=30)

    def start_waiting(self, timeout):
        return self.thread.submit(self.store.wait_for_work, timeout)


@pytest.fixture
def worker_thread():
    made = []

    def make(store):
        made.append(WorkerThread(store))
        return made[-1]

    yield make
    for worker in made:
        worker.thread.shutdown()


@pytest.mark.postgres
def test_an_idle_worker_is_woken_when_a_job_arrives(open_store, worker_thread):
    worker, creator = worker_thread(open_store()), open_store()
    assert worker.wait(0) is False  # listening from now on
    waiting = worker.start_waiting(60)
    creator.create_job("t")
    assert waiting.result(timeout=30) is True


@pytest.mark.postgres
def test_a_job_that_arrived_while_the_worker_was_busy_ends_its_next_wait(
    open_store, worker_thread
):
    worker, creator = worker_thread(open_store()), open_store()
    assert worker.wait(0) is False
    creator.create_job("t")
    assert worker.wait(60) is True


@pytest.mark.postgres
def test_only_a_job_becoming_pending_wakes_a_worker(open_store, worker_thread):
    worker, store = worker_thread(open_store()), open_store()
    assert worker.wait(0) is False
    job = store.claim_job(store.create_job("t").id)
    assert worker.wait(60) is True  # the creation
    store.update_status(job.id, FAILED, "boom", claim=job.claim)
    assert worker.wait(0.2) is False
    store.retry_failed_jobs()
    assert worker.wait(60) is True


# --- handler errors whose text a database cannot hold ---------------------------------------

NOT_UTF8 = os.fsdecode(b"report-\xff.csv")  # a lone surrogate, as os.fsdecode makes of 0xff


@pytest.mark.parametrize(
    "error, stored",
    [
        (OSError(f"cannot read {NOT_UTF8}"), "OSError: cannot read report-\\udcff.csv"),
        (ValueError("field\x00name"), "ValueError: field\\x00name"),
    ],
    ids=["lone surrogate", "NUL"],
)
def test_a_handler_error_the_database_cannot_hold_is_stored_escaped(make_store, error, stored):
    store = make_store()
    job = store.claim_job(store.create_job("t").id)

    def handler(job):
        raise error

    worker_here(store, handler).process(job)
    failed = store.get_job(job.id)
    assert (failed.status, failed.last_error) == (FAILED, stored)


def test_a_permanent_failure_with_such_text_is_not_retried(make_store):
    store = make_store()
    job = store.claim_job(store.create_job("t").id)

    def handler(job):
        raise PermanentFailure(f"no such file {NOT_UTF8}\x00")

    worker_here(store, handler).process(job)
    dead = store.get_job(job.id)
    assert dead.is_dead and dead.permanent
    assert dead.last_error == "PermanentFailure: no such file report-\\udcff.csv\\x00"
    assert store.retry_failed_jobs() == []
