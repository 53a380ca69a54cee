"""A worker around its handler: whatever the handler raises is recorded as the job's failure,
worded even when the exception's message is broken, and the worker goes on serving; a refused
report is logged, never printed. ``heartbeat()`` and ``heartbeat_interval()`` inside a handler,
on every kind of store, and ``simulated_work``, which heartbeats as it works and stops once a
heartbeat finds its job lost.

``worker_here`` runs ``Worker.process`` on the test's own thread and the store runs on a
``ManualClock``, so every heartbeat and late report happens exactly when the test says.
"""

import logging
import threading

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    JobStatus,
    ManualClock,
    WorkerPool,
    describe_failure,
    heartbeat,
    heartbeat_interval,
    simulated_work,
    stop_requested,
)
from tests.steps import START, claimed, reclaim, worker_here
from tests.support import run_with_deadline

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


# --- a worker survives whatever its handler does ----------------------------------------------


class BadError(Exception):
    def __str__(self):
        return str(1 / 0)


class NotTextError(Exception):
    def __str__(self):
        return 42  # type: ignore[return-value]


class CustomBaseError(BaseException):
    """Not an ``Exception``: the kind a bare ``except Exception`` lets through."""


def test_describe_failure_names_the_type_even_when_the_message_is_broken():
    assert describe_failure(BadError()) == (
        "BadError: <message unavailable: ZeroDivisionError in __str__>"
    )
    assert describe_failure(NotTextError()) == (
        "NotTextError: <message unavailable: TypeError in __str__>"
    )
    assert describe_failure(ValueError("  boom \n")) == "ValueError: boom"
    assert describe_failure(ValueError(" \n ")) == "ValueError"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (BadError(), "BadError: <message unavailable: ZeroDivisionError in __str__>"),
        (NotTextError(), "NotTextError: <message unavailable: TypeError in __str__>"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (SystemExit(3), "SystemExit: 3"),
        (GeneratorExit(), "GeneratorExit"),
        (CustomBaseError("odd"), "CustomBaseError: odd"),
    ],
)
def test_one_worker_records_any_exception_and_keeps_serving(error, expected, capfd):
    def handler(job):
        if job.type == "bad":
            raise error

    with WorkerPool(workers=1, handler=handler) as pool:
        bad = pool.submit("bad", max_retries=1)
        later = pool.submit("good")
        assert pool.wait(timeout=30)
    assert pool.store.get_job(bad.id).status is FAILED
    assert pool.store.get_job(bad.id).last_error == expected
    assert pool.store.get_job(later.id).status is COMPLETED, "the one worker went on serving"
    assert all(worker.is_alive() is False for worker in pool.workers)
    assert capfd.readouterr() == ("", ""), "nothing printed"


def test_any_exception_from_the_handler_becomes_a_failure_with_its_message():
    def handler(job):
        if job.type == "divide":
            return 1 / 0
        raise RuntimeError("")

    with WorkerPool(workers=1, handler=handler) as pool:
        a = pool.submit("divide", max_retries=1)
        b = pool.submit("silent", max_retries=1)
        assert pool.wait(timeout=30)
    assert pool.store.get_job(a.id).last_error == "ZeroDivisionError: division by zero"
    assert pool.store.get_job(b.id).last_error == "RuntimeError"


def test_a_refused_outcome_is_logged_for_whoever_listens_and_never_printed(caplog, capfd):
    def handler(job):
        pool.store.update_status(job.id, COMPLETED)  # the handler reports for itself: a mistake

    pool = WorkerPool(workers=1, handler=handler)
    with caplog.at_level(logging.INFO, logger="jobqueue_lab"), pool:
        pool.submit("t")
        assert pool.wait(timeout=30)
    assert capfd.readouterr() == ("", "")
    [record] = [r for r in caplog.records if r.name == "jobqueue_lab.worker"]
    assert "fenced off a late report for job-001 (claim 1)" in record.getMessage()
    assert pool.store.get_job("job-001").status is COMPLETED


def test_the_package_logger_has_a_null_handler():
    handlers = logging.getLogger("jobqueue_lab").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_stop_requested_outside_a_worker_is_a_private_event():
    event = stop_requested()
    event.set()
    assert stop_requested() is not event
    assert not stop_requested().is_set()
    simulated_work(seconds=0.001)(InMemoryJobStore().create_job("t"))  # not interrupted


# --- heartbeats from inside a handler -----------------------------------------------------


def test_heartbeat_inside_a_worker_keeps_a_long_job_alive(new_store):
    store, clock = new_store()
    assert store.lease_seconds == 30, "the store's own lease is not the worker's"
    seen = []

    def long_job(job):
        for _ in range(3):
            clock.advance(8)  # 24 s of work on a 10 s lease, a beat every 8 s
            beat, interval = heartbeat(), heartbeat_interval()
            renewed = store.get_job(job.id)
            lease = (renewed.lease_expires_at - clock(), renewed.lease_seconds)
            seen.append((beat, interval, lease))
            assert store.recover_expired_leases(actor="sweeper") == []

    job = claimed(store, lease_seconds=10)
    worker_here(store, long_job, lease_seconds=10).process(job)
    assert seen == [(True, 10 / 3, (10, 10))] * 3, "each beat renews the worker's lease"
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim) == (COMPLETED, 1, 1)
    assert [t for t in store.transitions() if not t.accepted] == []


def test_heartbeat_interval_follows_the_stores_lease_when_the_worker_has_none(new_store):
    store, _ = new_store(lease_seconds=12)
    seen = []
    job = claimed(store)
    worker_here(store, lambda job: seen.append(heartbeat_interval())).process(job)
    assert seen == [4.0]


def test_heartbeat_outside_a_worker_does_nothing():
    assert heartbeat() is True
    assert heartbeat_interval() is None


def test_a_lost_worker_learns_from_its_heartbeat_and_its_late_report_is_fenced(new_store):
    store, clock = new_store()
    beats = []

    def lost(job):
        clock.advance(10)  # no heartbeat for a whole lease
        reclaim(store, clock, store.get_job(job.id), actor="worker-2")
        beats.append(heartbeat())

    job = claimed(store, lease_seconds=10)
    worker_here(store, lost, lease_seconds=10).process(job)
    assert beats == [False]
    final = store.get_job(job.id)
    assert (final.status, final.claim, final.claimed_by) == (PROCESSING, 2, "worker-2")
    late = store.transitions()[-1]
    here = threading.current_thread().name  # the worker reports as the thread it runs on
    assert (late.accepted, late.claim, late.actor, late.to_status) == (False, 1, here, COMPLETED)
    assert late.detail == "claim 1 reported completed after losing the job; claim 2 holds the job"


# --- simulated work heartbeats --------------------------------------------------------------


class BeatCountingStore(InMemoryJobStore):
    """Counts heartbeats; before the ``lose_at``-th one, the sweeper recovers the job."""

    def __init__(self, clock, lose_at=None):
        super().__init__(clock=clock)
        self.beats = 0
        self._lose_at = lose_at
        self._clock_ = clock

    def renew_lease(self, job_id, claim, **options):
        self.beats += 1
        if self.beats == self._lose_at:
            self._clock_.advance(self.get_job(job_id).lease_expires_at - self._clock_())
            self.recover_expired_leases(actor="sweeper")
        return super().renew_lease(job_id, claim, **options)


def test_simulated_work_heartbeats_as_it_works():
    store = BeatCountingStore(ManualClock(START))
    job = claimed(store, lease_seconds=0.03)
    worker_here(store, simulated_work(seconds=0.1), lease_seconds=0.03).process(job)
    assert store.beats >= 2
    assert store.get_job(job.id).status is COMPLETED


def test_simulated_work_stops_when_a_heartbeat_finds_the_job_lost():
    store = BeatCountingStore(ManualClock(START), lose_at=2)
    job = claimed(store, lease_seconds=0.02)
    worker = worker_here(store, simulated_work(seconds=600), lease_seconds=0.02)
    run_with_deadline(lambda: worker.process(job), timeout=10)
    assert store.beats == 2, "the work ended at the first refused heartbeat"
    final = store.get_job(job.id)
    assert final.status is FAILED and final.last_error.startswith("lease expired")
    late = store.transitions()[-1]
    assert (late.accepted, late.to_status, late.claim) == (False, FAILED, 1)
    assert late.detail == "claim 1 reported failed after losing the job; the job is failed now"
