"""The paths made fast for the benchmarks keep the store's rules.

The store's cheap reads (``pending_ids``, the retryable index), the sweeper's batch and
pause, and the work queue's top-up each change how much work a step does, never what it
decides.
"""

import threading

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    JobStatus,
    WorkerPool,
    WorkQueue,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.checks import find_violations
from jobqueue_lab.sweeper import MIN_PAUSE, Sweeper
from tests.support import wait_for

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def fail_once(store, job_id, error="boom"):
    store.claim_job(job_id)
    store.update_status(job_id, FAILED, error)


def test_pending_ids_puts_the_longest_waiting_first(make_store):
    store = make_store()
    first, second, third = (store.create_job("t").id for _ in range(3))
    fail_once(store, first)
    store.retry_failed_jobs()
    assert store.pending_ids() == [second, third, first], "a retried job waits at the back"
    assert store.pending_ids(limit=2) == [second, third]
    assert store.pending_ids(limit=0) == []


@pytest.mark.parametrize(
    ("limit", "error", "message"),
    [
        (-1, ValueError, "limit must be an int >= 0, got -1"),
        (1.5, TypeError, "limit must be an int, got float"),
        (True, TypeError, "limit must be an int, got bool"),
        ("3", TypeError, "limit must be an int, got str"),
    ],
)
def test_pending_ids_refuses_a_bad_limit_and_changes_nothing(make_store, limit, error, message):
    store = make_store()
    store.create_job("t")
    before = store.transitions()
    with pytest.raises(error, match=message):
        store.pending_ids(limit=limit)
    assert store.transitions() == before


def test_only_jobs_with_attempts_left_are_retried_and_keep_the_store_unsettled(make_store):
    store = make_store()
    spent = store.create_job("t", max_retries=1).id
    again = store.create_job("t", max_retries=2).id
    fail_once(store, spent)
    fail_once(store, again)
    assert not store.all_settled()
    assert [job.id for job in store.retry_failed_jobs()] == [again]
    assert store.retry_failed_jobs() == [], "nothing left to retry"
    fail_once(store, again)
    assert store.all_settled()
    assert [job.id for job in store.get_failed_jobs()] == [spent, again]


def test_a_waiter_wakes_when_the_last_job_settles(make_store):
    store = make_store()
    job = store.create_job("t", max_retries=1)
    store.claim_job(job.id)
    waiting = threading.Event()
    result = []

    def wait():
        waiting.set()
        result.append(store.wait_until_settled(timeout=30))

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert waiting.wait(timeout=10)
    store.update_status(job.id, FAILED, "boom")
    waiter.join(timeout=30)
    assert result == [True]


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


def test_a_queue_that_turned_ids_away_asks_for_more_once_half_empty():
    queue = WorkQueue(capacity=4)
    ids = [f"job-{n}" for n in range(10)]
    assert [queue.put(job_id) for job_id in ids] == [True] * 4 + [False] * 6
    queue.done_claiming(queue.take())
    assert not queue.wants_more.is_set(), "three of four still queued"
    queue.done_claiming(queue.take())
    assert queue.wants_more.is_set(), "half empty after turning ids away"


def test_a_queue_that_never_turned_an_id_away_asks_for_nothing():
    queue = WorkQueue(capacity=4)
    queue.put("job-1")
    queue.done_claiming(queue.take())
    assert len(queue) == 0
    assert not queue.wants_more.is_set()


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


def test_a_burst_bigger_than_the_queue_flows_at_the_workers_pace():
    with WorkerPool(workers=2, queue_capacity=5, sweeper_interval=3600) as pool:
        for _ in range(200):
            pool.submit("t")
        assert pool.wait(timeout=60)
    assert pool.store.counts()[COMPLETED] == 200
    assert pool.store.transitions()[-1].to_status is COMPLETED


@pytest.mark.stress
def test_topping_up_under_load_keeps_every_invariant():
    for _ in range(20):
        handler = simulated_work(fail=fail_by_type("email"))
        with WorkerPool(workers=4, handler=handler, queue_capacity=3, sweeper_interval=0) as pool:
            created = [
                pool.submit("email" if n % 4 == 0 else "report", max_retries=2).id
                for n in range(120)
            ]
            assert pool.wait(timeout=60)
        jobs = pool.store.list_jobs()
        assert find_violations(jobs, pool.store.transitions(), created=created) == []
        assert sum(job.attempts for job in jobs) == 90 + 30 * 2
