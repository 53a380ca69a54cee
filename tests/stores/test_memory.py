"""What only the in-memory store is tested for: its lock, proven with the race window forced
wide open (and a proof that each race test fails once the lock is gone); user code that reads
the store while it holds its lock; an audit read that must not hold up other readers; and
payloads that change while the store copies them."""

import threading
import time
from collections.abc import Iterator, Mapping

import pytest

from jobqueue_lab import InMemoryJobStore, Job
from jobqueue_lab.checks import PROCESSED_TWICE, find_violations
from tests.support import run_with_deadline

# --- the id factory only this store takes --------------------------------------------------------


def test_an_id_factory_can_be_passed_in():
    ids = iter(["a", "b"])
    store = InMemoryJobStore(id_factory=lambda: next(ids))
    assert [store.create_job("t").id for _ in range(2)] == ["a", "b"]


def test_a_duplicate_id_from_the_factory_is_refused_and_nothing_stored():
    store = InMemoryJobStore(id_factory=lambda: "same")
    store.create_job("t")
    with pytest.raises(ValueError, match="'same', which is already taken"):
        store.create_job("t")
    assert len(store) == 1


# --- user code that reads the store, and a long audit read -----------------------------------


def test_an_id_factory_that_reads_the_store_does_not_deadlock():
    store = InMemoryJobStore(id_factory=lambda: f"job-{len(store) + 1}")
    ids = run_with_deadline(lambda: [store.create_job("t").id for _ in range(3)])
    assert ids == ["job-1", "job-2", "job-3"]


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


# --- payloads that change while they are copied -----------------------------------------------


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
