import threading

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    JobStatus,
    WorkerPool,
    WorkQueue,
    fail_by_type,
    fail_until_attempt,
    simulated_work,
)
from jobqueue_lab.checks import find_violations
from jobqueue_lab.sweeper import Sweeper
from tests.support import wait_for

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def live_threads(names):
    return [t.name for t in threading.enumerate() if t.name in names and t.is_alive()]


def test_a_small_run_settles_and_keeps_every_invariant():
    handler = simulated_work(fail=fail_by_type("email"))
    with WorkerPool(workers=3, handler=handler, sweeper_interval=0.001) as pool:
        for n in range(10):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=2)
        assert pool.wait(timeout=30)
    store = pool.store
    assert store.counts() == {PENDING: 0, PROCESSING: 0, COMPLETED: 6, FAILED: 4}
    for job in store.get_failed_jobs():
        assert job.attempts == 2
        assert job.last_error == "SimulatedFailure: email jobs always fail in this simulation"
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_workers_signal_and_the_sweeper_retries():
    with WorkerPool(
        workers=2, handler=simulated_work(fail=fail_until_attempt(3)), sweeper_interval=0.001
    ) as pool:
        job = pool.submit("flaky", max_retries=3)
        assert pool.wait(timeout=30)
    final = pool.store.get_job(job.id)
    assert (final.status, final.attempts) == (COMPLETED, 3)
    actors = {(t.from_status, t.to_status): t.actor for t in pool.store.transitions()}
    assert actors[(FAILED, PENDING)] == "sweeper"
    assert actors[(PROCESSING, FAILED)].startswith("worker-")
    assert actors[(PROCESSING, COMPLETED)].startswith("worker-")


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


def test_threads_are_named_and_all_gone_after_stop():
    pool = WorkerPool(workers=3).start()
    names = {"worker-1", "worker-2", "worker-3", "sweeper"}
    assert {w.name for w in pool.workers} | {pool.sweeper.name} == names
    assert all(t.is_alive() for t in [*pool.workers, pool.sweeper])
    pool.stop()
    assert not any(t.is_alive() for t in [*pool.workers, pool.sweeper])


def test_stop_cuts_long_work_short_and_releases_it_without_spending_the_attempt():
    pool = WorkerPool(workers=2, handler=simulated_work(seconds=60), sweeper_interval=0.01)
    pool.start()
    jobs = [pool.submit("slow", max_retries=1) for _ in range(5)]
    assert wait_for(lambda: pool.store.counts()[PROCESSING] == 2)
    assert pool.stop() is True
    store = pool.store
    assert store.get_processing_jobs() == []
    assert store.get_failed_jobs() == [], "a job on its last attempt is not failed by a stop"
    assert [job.attempts for job in store.list_jobs()] == [0] * len(jobs)
    releases = [t for t in store.transitions() if t.from_status is PROCESSING]
    assert len(releases) == 2
    assert all(t.to_status is PENDING and "not counted" in t.detail for t in releases)
    assert find_violations(store.list_jobs(), store.transitions(), expect_settled=False) == []


def test_a_stopped_run_is_finished_by_a_new_pool_on_the_same_store():
    blocker = threading.Event()

    def handler(job):
        blocker.wait(timeout=10)
        simulated_work(seconds=60)(job)

    first = WorkerPool(workers=1, handler=handler).start()
    for _ in range(3):
        first.submit("t", max_retries=2)
    blocker.set()
    first.stop()
    with WorkerPool(first.store, workers=2, sweeper_interval=0.001) as second:
        assert second.wait(timeout=30)
    assert first.store.counts()[COMPLETED] == 3


def test_submit_never_blocks_on_a_full_queue_and_loses_nothing():
    gate = threading.Event()

    def handler(job):
        gate.wait(timeout=30)

    with WorkerPool(workers=1, handler=handler, queue_capacity=2, sweeper_interval=0.001) as pool:
        jobs = [pool.submit("t") for _ in range(20)]
        assert len(pool.queue) <= 2
        gate.set()
        assert pool.wait(timeout=30)
    assert [j.id for j in pool.store.list_jobs(COMPLETED)] == [j.id for j in jobs]


def test_a_normal_run_has_no_refused_claims():
    with WorkerPool(
        workers=4,
        handler=simulated_work(fail=fail_by_type("a")),
        sweeper_interval=0,
        queue_capacity=5,
    ) as pool:
        for n in range(200):
            pool.submit("a" if n % 2 else "b", max_retries=3)
        assert pool.wait(timeout=60)
    assert [t for t in pool.store.transitions() if not t.accepted] == []


def test_wait_times_out_while_work_is_blocked():
    gate = threading.Event()
    with WorkerPool(workers=1, handler=lambda job: gate.wait(timeout=30)) as pool:
        pool.submit("t")
        assert pool.wait(timeout=0.05) is False
        gate.set()
        assert pool.wait(timeout=30) is True


def test_a_stopped_pool_cannot_be_restarted():
    pool = WorkerPool(workers=1)
    pool.stop()
    with pytest.raises(RuntimeError, match="make a new WorkerPool"):
        pool.start()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"workers": 0}, ValueError, "workers must be an int >= 1"),
        ({"workers": True}, TypeError, "workers must be an int, got bool"),
        ({"handler": "nope"}, TypeError, "handler must be callable"),
        ({"queue_capacity": 0}, ValueError, "queue_capacity must be an int >= 1"),
        ({"sweeper_interval": -1}, ValueError, "sweeper_interval must be a number from 0 to"),
    ],
)
def test_bad_pool_arguments_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        WorkerPool(**kwargs)


def test_the_work_queue_never_holds_an_id_twice():
    store = InMemoryJobStore()
    queue = WorkQueue(capacity=10)
    job = store.create_job("t")
    assert queue.put(job.id) is True
    assert queue.put(job.id) is False
    assert queue.take() == job.id
    assert queue.put(job.id) is False, "still counted as queued until the claim is done"
    store.claim_job(job.id)
    queue.done_claiming(job.id)
    def still_pending(job_id):
        return store.get_job(job_id).status is PENDING

    assert queue.put(job.id, still_wanted=still_pending) is False, "a processing job is dropped"
    assert len(queue) == 0


def test_sweep_once_can_be_stepped_by_hand():
    store = InMemoryJobStore()
    queue = WorkQueue()
    sweeper = Sweeper(store, queue.put, interval=1)
    job = store.create_job("t", max_retries=2)
    first = sweeper.sweep_once()
    assert (first.retried, first.enqueued) == ((), (job.id,))
    assert sweeper.sweep_once().enqueued == (), "no duplicate enqueue"
    queue.take()
    store.claim_job(job.id)
    queue.done_claiming(job.id)
    store.update_status(job.id, FAILED, "boom")
    second = sweeper.sweep_once()
    assert (second.retried, second.enqueued) == ((job.id,), (job.id,))
    assert store.transitions()[-1].actor == "sweeper"


def test_the_sweeper_runs_periodically_until_stopped():
    stop = threading.Event()
    store = InMemoryJobStore()
    sweeper = Sweeper(store, lambda job_id: True, interval=0.001, stop=stop)
    sweeper.start()
    assert wait_for(lambda: sweeper.sweeps >= 3)
    stop.set()
    sweeper.join(timeout=10)
    assert not sweeper.is_alive()
