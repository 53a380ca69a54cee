"""Faults a handler or caller can cause: none strands a job, hangs the pool, or slips in unchecked.

Each class of fault has its regression test here: odd exceptions from handlers, odd arguments,
user code that reads the store, payloads that change or nest without end, pools that are
dropped, and the races that the store's lock exists to stop (with the window forced wide open,
and a proof that the same test fails when the lock is gone).
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Iterator, Mapping

import pytest

from jobqueue_lab import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    InMemoryJobStore,
    Job,
    WorkerPool,
    describe_failure,
    simulated_work,
    stop_requested,
)
from jobqueue_lab.checks import PROCESSED_TWICE, find_violations
from jobqueue_lab.sweeper import Sweeper
from jobqueue_lab.validation import MAX_PAYLOAD_DEPTH
from tests.support import wait_for


def store_state(store):
    """Everything a refused call must leave exactly as it was."""
    return store.list_jobs(), store.transitions(), store.counts()


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


# --- a pool never outlives its owner or accepts what it cannot run -----------------------------


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
        assert pool.wait(timeout) is True


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


def test_stop_requested_outside_a_worker_is_a_private_event():
    event = stop_requested()
    event.set()
    assert stop_requested() is not event
    assert not stop_requested().is_set()
    simulated_work(seconds=0.001)(InMemoryJobStore().create_job("t"))  # not interrupted


# --- the store is never left half-changed or deadlocked -----------------------------------------


def run_with_deadline(action, timeout=10.0):
    """Run ``action`` on a thread; fail the test (rather than hang it) if it does not finish."""
    result, errors = [], []

    def target():
        try:
            result.append(action())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlocked"
    if errors:
        raise errors[0]
    return result[0]


def test_an_id_factory_that_reads_the_store_does_not_deadlock():
    store = InMemoryJobStore(id_factory=lambda: f"job-{len(store) + 1}")
    ids = run_with_deadline(lambda: [store.create_job("t").id for _ in range(3)])
    assert ids == ["job-1", "job-2", "job-3"]


def test_a_clock_that_reads_the_store_does_not_deadlock(make_store):
    made: list[InMemoryJobStore] = []
    store = make_store(clock=lambda: float(len(made[0])) if made else 0.0)
    made.append(store)
    job = run_with_deadline(lambda: store.create_job("t"))
    run_with_deadline(lambda: store.claim_job(job.id))
    assert store.get_job(job.id).status is PROCESSING


class BreakableClock:
    def __init__(self):
        self.reading = 0.0

    def __call__(self):
        if isinstance(self.reading, Exception):
            raise self.reading
        return self.reading


@pytest.mark.parametrize(
    ("reading", "error"),
    [(RuntimeError("clock broke"), RuntimeError), ("noon", TypeError), (math.nan, ValueError)],
)
def test_a_broken_clock_leaves_every_write_all_or_nothing(make_store, reading, error):
    clock = BreakableClock()
    store = make_store(clock=clock)
    job = store.create_job("t", max_retries=2)
    failed = store.create_job("t", max_retries=2)
    store.claim_job(failed.id)
    store.update_status(failed.id, FAILED, "boom")
    before = store_state(store)
    clock.reading = reading
    for write in (
        lambda: store.create_job("t"),
        lambda: store.claim_job(job.id),
        lambda: store.update_status(failed.id, PENDING),
        lambda: store.retry_failed_jobs(),
    ):
        with pytest.raises(error):
            write()
        assert store_state(store) == before


class ShiftyMapping(Mapping):
    """A mapping whose contents differ each time it is read: the first read looks fine."""

    def __init__(self):
        self.reads = 0

    def _data(self):
        self.reads += 1
        return {"ok": 1} if self.reads % 2 else {"ok": {1, 2}}

    def __getitem__(self, key):
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self):
        return len(self._data())

    def items(self):
        return self._data().items()


def test_a_payload_is_checked_and_copied_in_one_pass():
    store = InMemoryJobStore()
    job = store.create_job("t", ShiftyMapping())
    assert dict(job.payload) == {"ok": 1}
    assert job.payload_json() == '{"ok": 1}'


def test_a_payload_changed_by_another_thread_never_stores_unchecked_data():
    store = InMemoryJobStore()
    payload = {f"k{n}": n for n in range(200)}
    stop = threading.Event()

    def meddle():
        while not stop.is_set():
            payload["k100"] = {1, 2}
            payload["k100"] = 100

    meddler = threading.Thread(target=meddle)
    meddler.start()
    try:
        for _ in range(300):
            try:
                job = store.create_job("t", payload)
            except (TypeError, RuntimeError):
                continue  # refused as a set, or "dict changed size": either way nothing stored
            job.payload_json()  # raises if anything that is not JSON got in
    finally:
        stop.set()
        meddler.join(timeout=10)


def nested(depth):
    payload: dict = {}
    inner = payload
    for _ in range(depth):
        inner["next"] = {}
        inner = inner["next"]
    return payload


def test_payload_nesting_is_limited_and_a_self_reference_is_refused(make_store):
    store = make_store()
    assert store.create_job("t", nested(MAX_PAYLOAD_DEPTH - 1)).payload_json()
    for bad in (nested(MAX_PAYLOAD_DEPTH), nested(600)):
        with pytest.raises(ValueError, match=f"nested more than {MAX_PAYLOAD_DEPTH} levels"):
            store.create_job("t", bad)
    loop: dict = {}
    loop["me"] = loop
    with pytest.raises(ValueError, match="contains itself"):
        store.create_job("t", loop)
    items: list = []
    items.append(items)
    with pytest.raises(ValueError, match="contains itself"):
        store.create_job("t", {"items": items})
    assert len(store) == 1


def test_an_int_too_long_to_write_is_refused_at_create_job(make_store):
    store = make_store()
    with pytest.raises(ValueError, match=r"payload\['n'\] is an int too long"):
        store.create_job("t", {"n": 10**5000})
    assert len(store) == 0
    assert "9" * 3000 in store.create_job("t", {"n": int("9" * 3000)}).payload_json()


@pytest.mark.parametrize(
    ("start", "error"), [(-1, ValueError), ("1", TypeError), (True, TypeError), (1.0, TypeError)]
)
def test_transitions_refuses_a_bad_start(make_store, start, error):
    store = make_store()
    store.create_job("t")
    with pytest.raises(error, match="start must be an int"):
        store.transitions(start)


def test_a_long_audit_read_does_not_hold_up_readers(monkeypatch):
    import jobqueue_lab.stores.memory as store_module

    building, release = threading.Event(), threading.Event()
    real = store_module.as_transitions

    def slow_build(rows):
        building.set()
        release.wait(30)
        return real(rows)

    monkeypatch.setattr(store_module, "as_transitions", slow_build)
    store = InMemoryJobStore()
    job = store.create_job("t")
    reader = threading.Thread(target=store.transitions)
    reader.start()
    try:
        assert building.wait(timeout=10)
        assert run_with_deadline(lambda: store.get_job(job.id), timeout=5) == job
        assert run_with_deadline(lambda: store.claim_job(job.id), timeout=5).attempts == 1
    finally:
        release.set()
        reader.join(timeout=10)


@pytest.mark.parametrize(
    ("actor", "error"), [(123, TypeError), (b"x", TypeError), ("", ValueError)]
)
def test_an_actor_is_a_non_empty_str_on_every_write(make_store, actor, error):
    store = make_store()
    job = store.create_job("t", max_retries=2)
    failed = store.create_job("t", max_retries=2)
    store.claim_job(failed.id)
    store.update_status(failed.id, FAILED, "boom")
    before = store_state(store)
    for write in (
        lambda: store.create_job("t", actor=actor),
        lambda: store.claim_job(job.id, actor=actor),
        lambda: store.update_status(failed.id, PENDING, actor=actor),
        lambda: store.retry_failed_jobs(actor=actor),
    ):
        with pytest.raises(error, match="actor must"):
            write()
        assert store_state(store) == before


def test_retry_failed_jobs_returns_jobs_in_creation_order_whatever_order_they_failed_in(make_store):
    store = make_store()
    ids = [store.create_job("t").id for _ in range(4)]
    for job_id in reversed(ids):
        store.claim_job(job_id)
        store.update_status(job_id, FAILED, "boom")
    assert [job.id for job in store.retry_failed_jobs()] == ids


# --- the lock, proven with the race window forced wide open ------------------------------------


class NoLock:
    """A stand-in for the store's lock that locks nothing: what the tests must catch."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def widen(obj, name, monkeypatch):
    """Make one call the store makes while holding its lock yield the GIL first, so that
    without the lock other threads get into the critical section on every run."""
    real = getattr(obj, name)

    def slowly(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(0.002)  # widens the window; the test waits on nothing here
        return result

    monkeypatch.setattr(obj, name, slowly)


def race(threads, action):
    """Release ``threads`` threads into ``action`` together; return what each got or raised."""
    gate = threading.Barrier(threads, timeout=10)
    outcomes = []
    lock = threading.Lock()

    def run():
        gate.wait()
        try:
            outcome = action()
        except Exception as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(outcomes) == threads
    return outcomes


def claim_race(monkeypatch, *, locked: bool):
    store = InMemoryJobStore()
    job = store.create_job("t")
    widen(store, "_read", monkeypatch)
    if not locked:
        monkeypatch.setattr(store, "_lock", NoLock())
    outcomes = race(8, lambda: store.claim_job(job.id))
    violations = find_violations(store.list_jobs(), store.transitions(), expect_settled=False)
    return {
        "claims": sum(isinstance(o, Job) for o in outcomes),
        "refused": outcomes.count(None),
        "errors": sum(isinstance(o, Exception) for o in outcomes),
        "double claims": sum(v.invariant == PROCESSED_TWICE for v in violations),
    }


CLEAN_CLAIM_RACE = {"claims": 1, "refused": 7, "errors": 0, "double claims": 0}


def create_race(monkeypatch, *, locked: bool):
    store = InMemoryJobStore(id_factory=lambda: "job-x")

    class SlowDict(dict):
        def __contains__(self, key):
            found = super().__contains__(key)
            time.sleep(0.002)  # widens the check-then-insert window
            return found

    monkeypatch.setattr(store, "_jobs", SlowDict())
    if not locked:
        monkeypatch.setattr(store, "_lock", NoLock())
    outcomes = race(8, lambda: store.create_job("t"))
    created = [o for o in outcomes if not isinstance(o, Exception)]
    return created, store


@pytest.mark.parametrize("repetition", range(20))
def test_many_threads_never_double_claim_with_the_window_forced_open(repetition, monkeypatch):
    assert claim_race(monkeypatch, locked=True) == CLEAN_CLAIM_RACE


def test_the_claim_race_test_fails_when_the_lock_is_gone(monkeypatch):
    outcome = claim_race(monkeypatch, locked=False)
    assert outcome != CLEAN_CLAIM_RACE
    assert outcome["refused"] < 7, "more than one thread got past the pending check"


@pytest.mark.parametrize("repetition", range(20))
def test_many_threads_never_lose_a_job_to_a_duplicate_id(repetition, monkeypatch):
    created, store = create_race(monkeypatch, locked=True)
    assert len(created) == 1, "the others were refused: the id is taken"
    creations = [t for t in store.transitions() if t.from_status is None]
    assert len(creations) == len(store) == 1


def test_the_create_race_test_fails_when_the_lock_is_gone(monkeypatch):
    created, store = create_race(monkeypatch, locked=False)
    creations = [t for t in store.transitions() if t.from_status is None]
    assert len(created) > 1
    assert len(creations) > len(store), "jobs were reported created and then lost"



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
