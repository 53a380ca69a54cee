"""Mistake 1 at full size: the real WorkerPool with MutatingWorkers, its race forced on every
run, and the damage shown from what the handlers saw, never from the broken store."""

import pytest

from jobqueue_lab import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    JobStatus,
    JobStore,
    Sweeper,
    WorkerPool,
    fail_by_type,
    simulated_work,
)
from jobqueue_lab.checks import PROCESSED_TWICE
from jobqueue_lab.mistakes.mutating_pool import (
    ForcedCollision,
    MutatingWorkerPool,
)
from jobqueue_lab.mistakes.mutating_worker import LiveRecordStore, MutatingWorker
from tests.support import wait_for

EMAIL_FAILS = "SimulatedFailure: email jobs always fail in this simulation"
EMAILS_FAIL = simulated_work(fail=fail_by_type("email"))


def run_ten_jobs(workers):
    with MutatingWorkerPool(workers=workers, handler=EMAILS_FAIL, sweeper_interval=0.001) as pool:
        for n in range(10):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=2)
        assert pool.wait(timeout=30)
    return pool


def double_runs(pool):
    return [v for v in pool.damage() if v.invariant is PROCESSED_TWICE]


def test_the_mutating_pool_is_the_real_pool_with_its_worker_class_swapped():
    assert issubclass(MutatingWorkerPool, WorkerPool)
    assert MutatingWorkerPool.worker_class is MutatingWorker
    assert MutatingWorkerPool.sweeper_class is Sweeper
    own = set(vars(MutatingWorkerPool))
    assert not own & {"start", "submit", "wait", "__enter__", "__exit__", "__repr__"}
    pool = MutatingWorkerPool(workers=3)
    assert isinstance(pool.store, LiveRecordStore) and isinstance(pool.store, JobStore)
    assert [type(worker) for worker in pool.workers] == [MutatingWorker] * 3
    assert all(worker.race_window == pool.collision.race_window for worker in pool.workers)


def test_the_mutating_pool_runs_jobs_to_the_end_like_the_real_one(capfd):
    pool = run_ten_jobs(workers=3)
    counts = pool.store.counts()
    assert set(counts) == set(JobStatus)
    assert counts[PENDING] == counts[PROCESSING] == 0
    assert counts[COMPLETED] == 6 and counts[FAILED] == 4
    for record in pool.store.list_jobs():
        assert isinstance(record.id, str) and isinstance(record.payload_json(), str)
        assert (record.type == "email") == (record.status is FAILED)
        assert record.max_retries == 2
        assert record.last_error == (EMAIL_FAILS if record.type == "email" else None)
    assert not [t for t in [pool.sweeper, *pool.workers] if t.is_alive()]
    assert capfd.readouterr() == ("", "")


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_two_workers_run_one_job_at_the_same_time_on_every_run(repetition):
    pool = run_ten_jobs(workers=2 + repetition % 7)
    [double] = double_runs(pool)
    assert double.job_id == pool.collision.job_id
    assert double.detail.endswith("ran it at the same time")
    runs = [run for run in pool.handler_runs.runs if run.job_id == double.job_id]
    assert len({run.worker for run in runs}) == 2
    assert "ran it at the same time" in pool.damage_report()


def test_the_report_sets_the_handlers_runs_against_the_attempts_recorded():
    pool = run_ten_jobs(workers=2)
    runs, attempts = len(pool.handler_runs.runs), sum(r.attempts for r in pool.store.list_jobs())
    first, headline, *rules = pool.damage_report().splitlines()
    assert first == (
        "What the handlers saw, written down outside the store: "
        f"{runs} runs, for {attempts} attempts in the store's records."
    )
    assert headline == f"Rules broken ({len(pool.damage())}):"
    assert rules == [f"  {v.job_id}: {v.invariant}: {v.detail}" for v in pool.damage()]


@pytest.mark.timeout(60)
def test_stop_lets_go_of_a_worker_held_for_a_race_that_cannot_come():
    # With sweeps an hour apart nothing offers the job again, so no second worker ever comes.
    pool = MutatingWorkerPool(workers=2, sweeper_interval=3600, race_timeout=3600)
    pool.start()
    job = pool.submit("report")
    assert wait_for(lambda: pool.collision.job_id == job.id)
    pool.stop()
    assert not [t for t in [pool.sweeper, *pool.workers] if t.is_alive()]
    assert (job.status, job.attempts) == (COMPLETED, 1)
    assert pool.damage() == []


def test_wait_returns_false_on_timeout_and_stop_ends_the_work_in_progress():
    pool = MutatingWorkerPool(workers=2, handler=simulated_work(seconds=30), sweeper_interval=0)
    pool.start()
    job = pool.submit("report")
    assert wait_for(lambda: job.status is PROCESSING)
    assert pool.wait(timeout=0.01) is False
    pool.stop()
    assert repr(pool) == "<MutatingWorkerPool 2 workers, stopped>"
    assert not [t for t in pool.workers if t.is_alive()]
    assert job.status is FAILED and job.last_error.startswith("WorkInterrupted")


def test_the_mutating_pool_has_the_real_pools_lifecycle():
    pool = MutatingWorkerPool(workers=2)
    assert repr(pool) == "<MutatingWorkerPool 2 workers, not started>"
    pool.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        pool.start()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"workers": 1}, ValueError, r"workers \(a race needs two\) must be an int >= 2"),
        ({"workers": True}, TypeError, "must be an int, got bool"),
        ({"handler": "nope"}, TypeError, "handler must be callable"),
        ({"race_timeout": "long"}, TypeError, "race_timeout must be a number"),
        ({"sweeper_interval": -1}, ValueError, "sweeper_interval must be a number from 0"),
        ({"queue_capacity": 0}, ValueError, "queue_capacity must be an int >= 1"),
        ({"queue_capacity": 2.5}, TypeError, "queue_capacity must be an int"),
        ({"store": object()}, TypeError, "store must be a job store"),
    ],
)
def test_the_mutating_pool_refuses_bad_settings(options, error, message):
    with pytest.raises(error, match=message):
        MutatingWorkerPool(**options)


def test_the_mutating_pool_refuses_a_bad_job_and_stores_nothing():
    pool = MutatingWorkerPool()
    with pytest.raises(TypeError, match="job type must be a str"):
        pool.submit(None)
    assert len(pool.store) == 0


def test_a_collision_that_was_released_holds_nobody():
    runs = []
    collision = ForcedCollision(runs.append, timeout=3600)
    collision.release()
    record = LiveRecordStore().create_job("report")
    collision.race_window(record)
    assert collision.run_handler(record) is None
    assert (collision.job_id, runs) == (record.id, [record])
