"""The two things a SQL store's transaction holds together, each tested on its own: the
conditional save, which refuses to write over a row that is no longer the one a decision was
made on, and the audit entry, which commits with the change it records or not at all.

Both are backstops that the ordinary path never reaches (the row lock, or SQLite's write lock,
keeps the row from changing under a decision), so these tests reach them by hand: a raw
connection of the test's own changes the database behind the store's back.
"""

from __future__ import annotations

import sqlite3

import pytest

from jobqueue_lab import JobStatus
from jobqueue_lab.decisions import decide_release
from jobqueue_lab.stores.sqlite import SQLiteJobStore

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def raw_connection(store):
    """A connection to ``store``'s database that is not the store's, in autocommit mode."""
    if isinstance(store, SQLiteJobStore):
        return sqlite3.connect(store.path, isolation_level=None)
    import psycopg

    return psycopg.connect(store.dsn, autocommit=True)


def run_raw(store, *statements):
    """Run ``statements`` on a raw connection, each committed at once."""
    db = raw_connection(store)
    try:
        for statement in statements:
            db.execute(statement)
    finally:
        db.close()


# --- the conditional save -----------------------------------------------------------------

CHANGED_UNDERNEATH = {
    "status": "UPDATE jobs SET status = 'failed', last_error = 'raw' WHERE number = 1",
    "claim": "UPDATE jobs SET claim = 2, claimed_by = 'worker-2' WHERE number = 1",
}


@pytest.mark.parametrize("changed", CHANGED_UNDERNEATH)
def test_a_save_over_a_row_that_changed_since_the_decision_fails_and_changes_nothing(
    make_sql_store, changed
):
    store = make_sql_store()
    job = store.create_job("t")
    stale = store.claim_job(job.id, actor="worker-1")
    run_raw(store, CHANGED_UNDERNEATH[changed])
    underneath, log = store.get_job(job.id), store.transitions()
    assert underneath != stale

    decision = decide_release(stale, stale.claim, "worker-1")
    assert decision.after is not None, "made on the stale snapshot, the release goes ahead"
    changed_while_held = "job 'job-001' changed while this transaction held it"
    with pytest.raises(RuntimeError, match=changed_while_held), store._changing() as place:
        store._save(place, decision, store.now(), "worker-1")

    assert store.get_job(job.id) == underneath, "the row is as the raw connection left it"
    assert store.transitions() == log, "and the refused save recorded nothing"


# --- the audit entry commits with its change ------------------------------------------------

REFUSING_ACTOR = "unrecordable"

REFUSE_AUDIT_ENTRIES = {
    "sqlite": (
        f"""CREATE TRIGGER refuse_entry BEFORE INSERT ON audit
        WHEN NEW.actor = '{REFUSING_ACTOR}'
        BEGIN SELECT RAISE(ABORT, 'the audit log refuses this entry'); END""",
    ),
    "postgres": (
        """CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log refuses this entry'; END $$""",
        f"""CREATE TRIGGER refuse_entry BEFORE INSERT ON audit FOR EACH ROW
        WHEN (NEW.actor = '{REFUSING_ACTOR}') EXECUTE FUNCTION refuse_entry()""",
    ),
}


def refusal_error(store):
    """The error the database's driver raises when the trigger refuses an entry."""
    if isinstance(store, SQLiteJobStore):
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.errors.RaiseException


def test_a_change_whose_audit_entry_cannot_be_written_is_rolled_back_with_it(make_sql_store):
    store = make_sql_store()
    job = store.create_job("t")
    run_raw(store, *REFUSE_AUDIT_ENTRIES[make_sql_store.kind])
    jobs, log = store.list_jobs(), store.transitions()

    with pytest.raises(refusal_error(store), match="the audit log refuses this entry"):
        store.claim_job(job.id, actor=REFUSING_ACTOR)

    assert store.list_jobs() == jobs, "the claim went with the entry that failed"
    assert store.transitions() == log
    claimed = store.claim_job(job.id, actor="worker-1")
    assert (claimed.status, claimed.claim, claimed.attempts) == (PROCESSING, 1, 1)
    assert [t.actor for t in store.transitions()[len(log) :]] == ["worker-1"]
