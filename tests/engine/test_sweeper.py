"""The sweeper: one sweep retries what is due and offers pending jobs to the work queue, at most
a batch at a time; it pauses between sweeps even at interval zero, and a queue that runs half
empty wakes it before its interval is up."""

import logging
import threading

import pytest

from jobqueue_lab import InMemoryJobStore, WorkQueue
from jobqueue_lab.sweeper import MIN_PAUSE, Sweeper
from tests.support import wait_for


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
    sweeper.run()
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
            job_id = queue.take()
            store.claim_job(job_id)
            queue.done_claiming(job_id)
        assert wait_for(lambda: sweeper.sweeps == 2), "woken by the queue, not by the clock"
        assert [queue.take() for _ in range(4)] == ids[2:6]
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
