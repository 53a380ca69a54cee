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

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def fail_once(store, job_id, error="boom"):
    store.claim_job(job_id)
    store.update_status(job_id, FAILED, error)


def test_pending_ids_puts_the_longest_waiting_first():
    store = InMemoryJobStore()
    first, second, third = (store.create_job("t").id for _ in range(3))
    fail_once(store, first)
    store.retry_failed_jobs()
    assert store.pending_ids() == [second, third, first], "a retried job waits at the back"
    assert store.pending_ids(limit=2) == [second, third]
    assert store.pending_ids(limit=0) == []


@pytest.mark.parametrize("limit", [-1, 1.5, True, "3"])
def test_pending_ids_refuses_a_bad_limit_and_changes_nothing(limit):
    store = InMemoryJobStore()
    store.create_job("t")
    before = store.transitions()
    with pytest.raises(ValueError, match="limit must be None or an int >= 0"):
        store.pending_ids(limit=limit)
    assert store.transitions() == before


def test_only_jobs_with_attempts_left_are_retried_and_keep_the_store_unsettled():
    store = InMemoryJobStore()
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


def test_a_waiter_wakes_when_the_last_job_settles():
    store = InMemoryJobStore()
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


def test_a_sweep_offers_at_most_its_batch_of_pending_jobs():
    store = InMemoryJobStore()
    ids = [store.create_job("t").id for _ in range(5)]
    offered = []
    sweeper = Sweeper(store, lambda job_id: offered.append(job_id) or True, batch=2)
    assert sweeper.sweep_once().enqueued == tuple(ids[:2])
    assert offered == ids[:2]


@pytest.mark.parametrize("batch", [0, -3, 2.0, True])
def test_a_bad_batch_is_refused(batch):
    with pytest.raises(ValueError, match="sweeper batch must be None or an int >= 1"):
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


def test_a_full_queue_tops_itself_up_with_the_longest_waiting_jobs():
    store = InMemoryJobStore()
    queue = WorkQueue(store, capacity=4)
    ids = [store.create_job("t").id for _ in range(10)]
    assert [queue.put(job_id) for job_id in ids] == [True] * 4 + [False] * 6
    for _ in range(2):
        job_id = queue.take()
        store.claim_job(job_id)
        queue.done_claiming(job_id)
    assert len(queue) == 4, "half empty, so the queue topped itself up"
    assert [queue.take() for _ in range(4)] == ids[2:6]


def test_a_queue_that_never_refused_does_not_top_up():
    store = InMemoryJobStore()
    queue = WorkQueue(store, capacity=4)
    queued = store.create_job("t").id
    queue.put(queued)
    left_alone = store.create_job("t").id
    assert queue.take() == queued
    store.claim_job(queued)
    queue.done_claiming(queued)
    assert len(queue) == 0
    assert store.get_job(left_alone).status is PENDING, "left for the sweeper"


def test_a_burst_bigger_than_the_queue_needs_no_sweep():
    with WorkerPool(workers=2, queue_capacity=5, sweeper_interval=3600) as pool:
        for _ in range(200):
            pool.submit("t")
        assert pool.wait(timeout=60)
    assert pool.sweeper.sweeps == 0
    assert pool.store.counts()[COMPLETED] == 200


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
