"""``StoreLock``: a re-entrant lock that goes to a running thread, never to a sleeping one.

It must be a lock first (one holder at a time, re-entrant, every waiter served, usable by
``threading.Condition``), and then never hand itself to a thread that is asleep.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

from jobqueue_lab import InMemoryJobStore
from jobqueue_lab.stores.store_lock import StoreLock
from tests.support import run_with_deadline, wait_for

THREADS = 8
ROUNDS = 400


def start(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("repetition", range(10))
def test_one_holder_at_a_time_and_every_waiter_gets_through(repetition):
    lock = StoreLock()
    holders: list[str] = []
    most_at_once = 0
    total = 0

    def hammer(name: str) -> None:
        nonlocal most_at_once, total
        for round_ in range(ROUNDS):
            with lock:
                holders.append(name)
                most_at_once = max(most_at_once, len(holders))
                seen = total
                if round_ % 7 == 0:
                    time.sleep(0)  # let go of the GIL inside the lock, as a forced switch does
                total = seen + 1
                holders.remove(name)

    threads = [start(lambda n=n: hammer(f"t{n}")) for n in range(THREADS)]
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a waiter was never let in"
    assert most_at_once == 1
    assert total == THREADS * ROUNDS


def test_it_is_re_entrant_and_free_only_after_the_last_release():
    lock = StoreLock()
    with lock, lock:
        assert lock._is_owned()
    assert not lock._is_owned()
    lock.acquire()
    lock.acquire()
    lock.release()
    assert lock._is_owned(), "one release of two must not free the lock"
    lock.release()
    assert run_with_deadline(lambda: lock.acquire(), timeout=5)


def test_releasing_a_lock_this_thread_does_not_hold_is_refused_and_changes_nothing():
    lock = StoreLock()
    with pytest.raises(RuntimeError):
        lock.release()
    lock.acquire()
    with pytest.raises(RuntimeError):
        run_with_deadline(lock.release, timeout=5)
    assert lock._is_owned()
    lock.release()


def test_a_condition_wait_lets_go_of_every_level_and_takes_them_all_back():
    lock = StoreLock()
    ready = threading.Condition(lock)
    waiting, go = threading.Event(), False
    after: list[object] = []

    def waiter() -> None:
        with lock, lock:
            waiting.set()
            after.append(ready.wait_for(lambda: go, timeout=10))
            after.append(lock._is_owned())
        after.append(lock._is_owned())

    thread = start(waiter)
    assert waiting.wait(10)
    with lock:  # only possible once the waiter let go of both levels
        go = True
        ready.notify_all()
    thread.join(10)
    assert after == [True, True, False]
    with pytest.raises(RuntimeError):
        lock.release()


def test_waiting_threads_are_told_when_a_condition_wait_lets_go():
    lock = StoreLock()
    ready = threading.Condition(lock)
    got_it = threading.Event()

    def waiter() -> None:
        with lock:
            got_it.set()
            ready.notify()

    with lock:
        start(waiter)
        assert wait_for(lambda: lock._waiting == 1)
        # The thread can only get in while this one waits, and only if it is told it may.
        assert ready.wait_for(got_it.is_set, timeout=10)


@pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="a convoy is a GIL's problem"
)
def test_a_running_thread_takes_the_lock_back_before_a_sleeping_waiter():
    """The point of the class: letting go does not hand the lock to the thread asleep on it,
    so the running thread that asks again at once gets it, and the sleeper gets in later.
    (A ``threading.RLock`` would be handed to the sleeper while this thread runs on.)"""
    lock = StoreLock()
    order: list[str] = []

    def sleeper() -> None:
        with lock:
            order.append("sleeper")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(60)  # no forced switch of threads: only the lock decides who runs
    try:
        with lock:
            thread = start(sleeper)
            assert wait_for(lambda: lock._waiting == 1)
        busy_until = time.perf_counter() + 0.02  # time for the sleeper to wake, GIL held
        while time.perf_counter() < busy_until:
            pass
        with lock:
            order.append("runner")
    finally:
        sys.setswitchinterval(interval)
    thread.join(10)
    assert order == ["runner", "sleeper"]


def test_the_in_memory_store_changes_jobs_under_it():
    store = InMemoryJobStore()
    assert isinstance(store._changing(), StoreLock)
