"""The worker pool: a run settles with every invariant kept, submit never blocks, a stopped pool
releases what it was running and cannot restart, a dropped pool stops its threads, wait and stop
keep their word, and the arguments it refuses.

Some of the stop tests take ``new_store`` and so run on every kind of store, on a
``ManualClock``.
"""

import gc
import logging
import math
import threading
import time

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    JobStatus,
    WorkerPool,
    WorkInterrupted,
    fail_by_type,
    fail_until_attempt,
    simulated_work,
    stop_requested,
)
from jobqueue_lab import pool as pool_module
from jobqueue_lab.checks import find_violations
from tests.steps import START, reclaim
from tests.support import run_with_deadline, wait_for

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def live_threads(names):
    return [t.name for t in threading.enumerate() if t.name in names and t.is_alive()]


# --- a run from start to stop ---------------------------------------------------------------



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


# --- a pool never outlives its owner or accepts what it cannot run ----------------------------


def test_a_started_pool_that_is_dropped_stops_its_threads():
    pool = WorkerPool(workers=3).start()
    threads = [*pool.workers, pool.sweeper]
    assert all(t.is_alive() for t in threads)
    del pool
    gc.collect()
    assert wait_for(lambda: not any(t.is_alive() for t in threads))


def test_a_dropped_pool_with_work_in_hand_still_stops():
    started = threading.Event()

    def slow(job):
        started.set()
        simulated_work(seconds=60)(job)

    pool = WorkerPool(workers=1, handler=slow).start()
    pool.submit("slow")
    assert started.wait(timeout=10)
    threads = [*pool.workers, pool.sweeper]
    del pool
    gc.collect()
    assert wait_for(lambda: not any(t.is_alive() for t in threads))


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (123, "store must be a job store such as InMemoryJobStore\\(\\), got 123"),
        (InMemoryJobStore, "got the class InMemoryJobStore"),
        ({}, "store must be a job store"),
    ],
)
def test_a_pool_refuses_what_is_not_a_store_at_once(store, message):
    with pytest.raises(TypeError, match=message):
        WorkerPool(store)


@pytest.mark.parametrize(
    ("interval", "error"),
    [(math.inf, ValueError), (1e10, ValueError), (math.nan, ValueError), (-0.1, ValueError),
     ("1", TypeError), (None, TypeError)],
)
def test_a_sweeper_interval_outside_the_sane_range_is_refused(interval, error):
    with pytest.raises(error, match="sweeper_interval must be a number"):
        WorkerPool(sweeper_interval=interval)


@pytest.mark.parametrize("timeout", [math.inf, 1e10, None])
def test_an_infinite_or_huge_wait_means_no_timeout(timeout):
    with WorkerPool(workers=1) as pool:
        pool.submit("t")
        assert run_with_deadline(lambda: pool.wait(timeout), timeout=30) is True


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        ("1", TypeError, "timeout must be a number of seconds or None, got str"),
        (-1, ValueError, "timeout must be a number of seconds >= 0 or None, got -1"),
        (math.nan, ValueError, "timeout must be a number of seconds >= 0"),
    ],
)
def test_a_bad_wait_timeout_is_refused_and_named(timeout, error, message):
    pool = WorkerPool(workers=1)
    with pytest.raises(error, match=message):
        pool.wait(timeout)
    with pytest.raises(error, match=message):
        pool.store.wait_until_settled(timeout)


def test_wait_returns_promptly_when_the_last_job_settles_by_failing():
    release = threading.Event()

    def handler(job):
        release.wait(30)
        raise RuntimeError("down")

    with WorkerPool(workers=1, handler=handler) as pool:
        pool.submit("t", max_retries=1)
        waiter_result = []
        waiter = threading.Thread(target=lambda: waiter_result.append(pool.wait(timeout=60)))
        waiter.start()
        assert wait_for(lambda: pool.store.counts()[PROCESSING] == 1)
        settled_at = time.monotonic()
        release.set()
        waiter.join(timeout=60)
        woke_after = time.monotonic() - settled_at
    assert waiter_result == [True]
    assert woke_after < 10, f"wait() took {woke_after:.1f} s to notice the last failure"


@pytest.mark.parametrize(
    "policy",
    [lambda job: 1 / 0, lambda job: "soon", lambda job: -5.0, lambda job: math.inf],
    ids=["raises", "not a number", "negative", "infinite"],
)
def test_a_broken_backoff_policy_never_strands_a_job(policy, caplog):
    store = InMemoryJobStore(backoff=policy)
    pool = WorkerPool(store, workers=1, handler=simulated_work(fail=lambda job: "down"))
    with caplog.at_level(logging.WARNING, logger="jobqueue_lab"), pool:
        job = pool.submit("t", max_retries=2)
        assert pool.wait(timeout=30)
    final = store.get_job(job.id)
    assert (final.status, final.attempts) == (FAILED, 2), "failed, retried at once, failed again"
    assert any("backoff policy failed for job-001" in r.getMessage() for r in caplog.records)


# --- stopping gracefully --------------------------------------------------------------------


def test_stop_joins_the_workers_before_it_returns():
    in_cleanup, release = threading.Event(), threading.Event()

    def handler(job):
        stop_requested().wait(30)
        in_cleanup.set()
        release.wait(30)

    pool = WorkerPool(workers=1, handler=handler).start()
    pool.submit("t")
    assert wait_for(lambda: pool.store.counts()[PROCESSING] == 1)
    stopper = threading.Thread(target=pool.stop)
    stopper.start()
    assert in_cleanup.wait(timeout=10)
    stopper.join(timeout=0.2)
    assert stopper.is_alive(), "stop() returned while a worker was still running its handler"
    release.set()
    stopper.join(timeout=30)
    assert not stopper.is_alive()
    assert not any(w.is_alive() for w in pool.workers)


def test_the_default_stop_timeout_is_at_most_three_seconds():
    assert pool_module.STOP_TIMEOUT <= 3.0
    assert WorkerPool.stop.__defaults__ == (pool_module.STOP_TIMEOUT,)


def test_stop_returns_in_time_although_a_handler_ignores_it_and_its_late_report_is_fenced(
    new_store,
):
    store, clock = new_store()
    started, let_go = threading.Event(), threading.Event()

    def stubborn(job):
        started.set()
        let_go.wait(30)  # never looks at stop_requested()

    pool = WorkerPool(store, workers=1, handler=stubborn, sweeper_interval=0.01, lease_seconds=5)
    pool.start()
    job = pool.submit("stubborn", max_retries=2)
    try:
        assert started.wait(10)
        began = time.monotonic()
        assert pool.stop(timeout=0.2) is False, "the handler is still running"
        assert time.monotonic() - began < 0.2 + 3.0, "stop() returns within about its timeout"
        held = store.get_job(job.id)
        assert (held.status, held.attempts, held.claim) == (PROCESSING, 1, 1)
        assert (held.claimed_by, held.lease_expires_at) == ("worker-1", START + 5)
        current = reclaim(store, clock, held, actor="worker-9")
    finally:
        let_go.set()
    assert wait_for(lambda: not pool.workers[0].is_alive())
    late = store.transitions()[-1]
    assert (late.accepted, late.claim, late.actor, late.to_status) == (
        False,
        1,
        "worker-1",
        COMPLETED,
    )
    assert late.detail == "claim 1 reported completed after losing the job; claim 2 holds the job"
    assert store.get_job(job.id) == current
    assert pool.stop(timeout=0.2) is True, "every thread is gone now"


def test_work_cut_short_by_stop_on_its_last_attempt_is_released_not_failed(new_store):
    store, _ = new_store()
    started = threading.Event()

    def polite(job):
        started.set()
        if stop_requested().wait(30):
            raise WorkInterrupted("stopping")

    pool = WorkerPool(store, workers=1, handler=polite, sweeper_interval=0.01, lease_seconds=5)
    pool.start()
    job = pool.submit("polite", max_retries=1)
    assert started.wait(10)
    began = time.monotonic()
    assert pool.stop(timeout=2.0) is True
    assert time.monotonic() - began < 2.0 + 3.0
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim, final.last_error) == (PENDING, 0, 1, None)
    assert store.get_failed_jobs() == []
    release = store.transitions()[-1]
    assert (release.from_status, release.to_status, release.claim) == (PROCESSING, PENDING, 1)
    assert release.detail == "released by worker-1: attempt 1 not counted"
    with WorkerPool(store, workers=1, sweeper_interval=0.001) as second:
        assert second.wait(timeout=30)
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim) == (COMPLETED, 1, 2)
    assert find_violations(store.list_jobs(), store.transitions()) == []
