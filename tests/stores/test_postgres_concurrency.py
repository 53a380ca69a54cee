"""What PostgreSQL's locks promise when transactions overlap, shown with transactions that
really do: a claimer passes over the job another transaction holds instead of waiting for it
(``FOR UPDATE SKIP LOCKED``), and the audit log, appended by writers that commit at once, is
numbered in the order they commit, so that a reader paging it never misses an entry
(the log's advisory lock).
"""

from __future__ import annotations

import threading
import time

import pytest

from jobqueue_lab import JobStatus
from tests.store_factory import StoreFactory
from tests.support import run_with_deadline

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus

pytestmark = pytest.mark.postgres


@pytest.fixture
def make_postgres_store(postgres_server, tmp_path):
    """``make_store`` for PostgreSQL alone: what these tests show is its locks."""
    factory = StoreFactory("postgres", tmp_path, postgres_server)
    yield factory
    factory.close_all()


# --- claimers pass over a job another transaction holds -------------------------------------

HOLD_THE_HEAD_OF_THE_LINE = """
    SELECT number FROM jobs WHERE status = 'pending' ORDER BY queue_position LIMIT 1 FOR UPDATE"""


def test_claim_next_passes_over_the_job_another_transaction_holds(make_postgres_store):
    import psycopg

    store = make_postgres_store()
    first, second = store.create_job("t"), store.create_job("t")
    holder = psycopg.connect(store.dsn)  # not autocommit: its transaction stays open
    try:
        assert holder.execute(HOLD_THE_HEAD_OF_THE_LINE).fetchall() == [(1,)]
        claimed = run_with_deadline(lambda: store.claim_next(actor="worker-2"), timeout=10)
        assert (claimed.id, claimed.status) == (second.id, PROCESSING), "not the held one"
        nothing = run_with_deadline(lambda: store.claim_next(actor="worker-3"), timeout=10)
        assert nothing is None, "the only pending job is held: nothing to claim, no waiting"
    finally:
        holder.rollback()
        holder.close()
    assert store.claim_next(actor="worker-3").id == first.id, "let go, it is claimable again"


# --- the audit log is numbered in commit order ----------------------------------------------

WRITERS = 4
JOBS_EACH = 15
STEPS = ("created", "claimed", "completed")


def write_jobs(store, name, start):
    """Create, claim and complete ``JOBS_EACH`` jobs, one change (one commit) at a time."""
    start.wait(timeout=10)
    for _ in range(JOBS_EACH):
        job = store.create_job("t", actor=name)
        store.claim_job(job.id, actor=name)
        store.update_status(job.id, COMPLETED, claim=1, actor=name)


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(10))
def test_a_reader_paging_the_audit_log_while_writers_commit_sees_each_entry_once_in_place(
    make_postgres_store, repetition
):
    store = make_postgres_store()
    start = threading.Barrier(WRITERS + 1)
    writers = [
        threading.Thread(
            target=write_jobs,
            args=(make_postgres_store.reopen(store), f"writer-{n}", start),
            daemon=True,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    start.wait(timeout=10)

    seen, pages = [], 0
    deadline = time.monotonic() + 60
    while any(writer.is_alive() for writer in writers):
        assert time.monotonic() < deadline, "the writers did not finish in time"
        seen.extend(store.transitions(len(seen)))
        pages += 1
    seen.extend(store.transitions(len(seen)))

    log = store.transitions()
    assert len(log) == WRITERS * JOBS_EACH * len(STEPS)
    assert len({(t.job_id, t.to_status) for t in log}) == len(log), "no entry written twice"
    assert seen == log, "each entry was seen once, where it stays: none was filled in later"
    times = [t.at for t in log]
    assert times == sorted(times), "the log's times follow its order"
    assert pages > 1, "the log was read while it was written"
