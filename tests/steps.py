"""Steps a test takes by hand on a store that runs on a ``ManualClock``.

The ``new_store`` fixture (see ``conftest.py``) gives ``store, clock`` for every kind of store,
the clock starting at ``START``. These helpers claim a job, let its lease run out, give it to a
new claim, and check that a refusal left the store as it was. ``worker_here`` makes a worker
whose ``process`` a test calls on its own thread, which makes heartbeats and late reports
deterministic without a pool.
"""

import threading

import pytest

from jobqueue_lab import Job, JobStatus, Worker, WorkQueue

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
START = 1000.0
LEASE = 30.0


def claimed(store, actor="worker-1", max_retries=3, **lease):
    job = store.create_job("t", max_retries=max_retries)
    return store.claim_job(job.id, actor=actor, **lease)


def lose(store, clock, job):
    """Let ``job``'s lease run out and have the sweeper recover it."""
    clock.advance(job.lease_expires_at - clock())
    recovered = store.recover_expired_leases(actor="sweeper")
    assert job.id in [j.id for j in recovered]
    return store.get_job(job.id)


def reclaim(store, clock, job, actor="worker-2"):
    """Lose ``job``'s current claim and give the job to a new one."""
    lose(store, clock, job)
    assert [j.id for j in store.retry_failed_jobs(actor="sweeper")] == [job.id]
    return store.claim_job(job.id, actor=actor)


def last_entry(store):
    return store.transitions()[-1]


def state(store):
    """Everything a refusal must leave as it was, apart from the audit log."""
    return store.list_jobs(), store.counts(), store.pending_ids(), store.get_dead_jobs()


def store_state(store):
    """Everything a refused call must leave exactly as it was."""
    return store.list_jobs(), store.transitions(), store.counts()


def refused(store, action, error):
    """Run ``action``, which the store must refuse with ``error``; check that the refusal
    changed nothing but one new audit entry, and return the exception and that entry."""
    before, log = state(store), store.transitions()
    with pytest.raises(error) as caught:
        action()
    after = store.transitions()
    assert state(store) == before
    assert after[: len(log)] == log and len(after) == len(log) + 1
    assert after[-1].accepted is False
    return caught.value, after[-1]


def untouched(store, action, error, match=None):
    """A bad argument is refused before anything happens: not even an audit entry."""
    before, log = state(store), store.transitions()
    with pytest.raises(error, match=match):
        action()
    assert (state(store), store.transitions()) == (before, log)


def worker_here(store, handler, lease_seconds=None, stop=None):
    """A worker whose ``process`` we call on this thread: no pool, no timing."""
    return Worker(
        "worker-1",
        store,
        WorkQueue(),
        handler,
        stop or threading.Event(),
        lease_seconds=lease_seconds,
    )


def failed_on(attempt, job_id="job-001"):
    """The snapshot a backoff policy sees: the job on the attempt that just failed."""
    return Job(job_id, "t", PROCESSING, attempts=attempt, max_retries=100, claim=attempt)
