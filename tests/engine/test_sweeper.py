"""The sweeper: one sweep, stepped by hand, retries what is due (a job whose lease ran out
included, recovered first in the same sweep) and offers pending jobs to the work queue, at most
a batch at a time and never one already queued; run as a thread, it sweeps until stopped, pauses
between sweeps even at interval zero, is woken early by a queue that runs half empty, and goes
on sweeping after a sweep that raised."""

import logging
import threading

import pytest

from jobqueue_lab import InMemoryJobStore, JobStatus, WorkQueue
from jobqueue_lab.sweeper import MIN_PAUSE, Sweeper
from tests.steps import claimed
from tests.support import run_with_deadline, wait_for

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def test_sweep_once_can_be_stepped_by_hand():
    store = InMemoryJobStore()
    queue = WorkQueue()
    sweeper = Sweeper(store, queue.put, interval=1)
    job = store.create_job("t", max_retries=2)
    first = sweeper.sweep_once()
    assert (first.retried, first.enqueued) == ((), (job.id,))
    assert sweeper.sweep_once().enqueued == (), "no duplicate enqueue"
    assert run_with_deadline(queue.take) == job.id
    store.claim_job(job.id)
    queue.done_claiming(job.id)
    store.update_status(job.id, FAILED, "boom")
    second = sweeper.sweep_once()
    assert (second.retried, second.enqueued) == ((job.id,), (job.id,))
    assert store.transitions()[-1].actor == "sweeper"


def test_a_job_whose_lease_ran_out_is_recovered_and_retried_in_the_same_sweep(new_store):
    store, clock = new_store()
    job = claimed(store, lease_seconds=10)
    sweeper = Sweeper(store, WorkQueue().put)
    clock.advance(10)
    report = sweeper.sweep_once()
    assert (report.recovered, report.retried, report.enqueued) == ((job.id,),) * 3
    after = store.get_job(job.id)
    assert (after.status, after.attempts, after.claim) == (PENDING, 1, 1)
    assert after.last_error.startswith("lease expired after 10.0 s: worker-1")
    moves = [(t.from_status, t.to_status, t.actor) for t in store.transitions()[-2:]]
    assert moves == [(PROCESSING, FAILED, "sweeper"), (FAILED, PENDING, "sweeper")]


def test_the_sweeper_runs_periodically_until_stopped():
    stop = threading.Event()
    store = InMemoryJobStore()
    sweeper = Sweeper(store, lambda job_id: True, interval=0.001, stop=stop)
    sweeper.start()
    assert wait_for(lambda: sweeper.sweeps >= 3)
    stop.set()
    sweeper.join(timeout=10)
    assert not sweeper.is_alive()


def test_a_sweep_offers_at_most_its_batch_of_pending_jobs(make_store):
    store = make_store()
    ids = [store.create_job("t").id for _ in range(5)]
    offered = []
    sweeper = Sweeper(store, lambda job_id: offered.append(job_id) or True, batch=2)
    assert sweeper.sweep_once().enqueued == tuple(ids[:2])
    assert offered == ids[:2]


@pytest.mark.parametrize(
    ("batch", "error", "message"),
    [
        (-3, ValueError, "limit must be an int >= 0, got -3"),
        (2.0, TypeError, "limit must be an int, got float"),
        (True, TypeError, "limit must be an int, got bool"),
    ],
)
def test_a_bad_batch_is_refused(batch, error, message):
    with pytest.raises(error, match=message):
        Sweeper(InMemoryJobStore(), lambda job_id: True, batch=batch)


class CountingStop(threading.Event):
    """A stop event that records each wait's timeout and sets itself on the third wait."""

    def __init__(self):
        super().__init__()
        self.timeouts = []

    def wait(self, timeout=None):
        self.timeouts.append(timeout)
        if len(self.timeouts) == 3:
            self.set()
        return super().wait(timeout)


def test_a_sweeper_with_interval_zero_still_pauses_between_sweeps():
    stop = CountingStop()
    sweeper = Sweeper(InMemoryJobStore(), lambda job_id: True, interval=0, stop=stop)
    run_with_deadline(sweeper.run)
    assert sweeper.interval == 0
    assert sweeper.sweeps == 2
    assert stop.timeouts == [MIN_PAUSE] * 3


def test_the_sweeper_refills_a_half_empty_queue_without_waiting_for_its_interval(make_store):
    store = make_store()
    ids = [store.create_job("t").id for _ in range(10)]
    queue = WorkQueue(capacity=4)
    stop = threading.Event()
    sweeper = Sweeper(
        store, queue.put, interval=3600, stop=stop, batch=5, wake=queue.wants_more
    )
    assert sweeper.sweep_once().enqueued == tuple(ids[:4])
    sweeper.start()
    try:
        for _ in range(2):
            job_id = run_with_deadline(queue.take)
            store.claim_job(job_id)
            queue.done_claiming(job_id)
        assert wait_for(lambda: sweeper.sweeps == 2), "woken by the queue, not by the clock"
        assert [run_with_deadline(queue.take) for _ in range(4)] == ids[2:6]
    finally:
        stop.set()
        queue.wake(0)
        sweeper.join(timeout=10)


def test_a_sweep_that_raises_does_not_end_the_sweeper(caplog):
    calls = []

    def enqueue(job_id):
        calls.append(job_id)
        if len(calls) == 1:
            raise RuntimeError("queue hiccup")
        return True

    store = InMemoryJobStore()
    store.create_job("t")
    stop = threading.Event()
    sweeper = Sweeper(store, enqueue, interval=0.001, stop=stop)
    with caplog.at_level(logging.ERROR, logger="jobqueue_lab"):
        sweeper.start()
        try:
            assert wait_for(lambda: len(calls) >= 3), "it went on sweeping after the failure"
        finally:
            stop.set()
            sweeper.join(timeout=10)
    assert any("a sweep failed" in r.getMessage() for r in caplog.records)
