"""Many workers, hundreds of jobs, mixed failure policies, repeated: every rule holds every time."""

import itertools
import threading

import pytest

from jobqueue_lab import (
    JobStatus,
    WorkerPool,
    combine,
    fail_by_type,
    fail_every_nth_attempt,
    fail_on_payload,
    fail_until_attempt,
    simulated_work,
)
from jobqueue_lab.checks import HandlerRun, find_violations

TYPES = ("email", "report", "resize", "flaky")
POLICY = combine(
    fail_by_type("email"),
    fail_on_payload("poison"),
    fail_until_attempt(2),
    fail_every_nth_attempt(3),
)


class ObservingHandler:
    """Runs the simulated work and records, independently of the store, every run it sees."""

    def __init__(self):
        self._ticks = itertools.count()
        self._lock = threading.Lock()
        self.runs: list[HandlerRun] = []
        self._work = simulated_work(fail=POLICY)

    def __call__(self, job):
        started = next(self._ticks)
        try:
            self._work(job)
        finally:
            finished = next(self._ticks)
            with self._lock:
                self.runs.append(
                    HandlerRun(job.id, threading.current_thread().name, started, finished)
                )


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_many_workers_mixed_policies_keep_every_invariant(repetition):
    handler = ObservingHandler()
    jobs = 300
    with WorkerPool(workers=8, handler=handler, sweeper_interval=0.001, queue_capacity=32) as pool:
        for n in range(jobs):
            payload = {"n": n, "note": "poison" if n % 17 == 0 else "ok"}
            pool.submit(TYPES[n % len(TYPES)], payload, max_retries=1 + n % 4)
        assert pool.wait(timeout=60), "the run did not settle in time"
    store = pool.store
    final = store.list_jobs()
    log = store.transitions()

    assert len(final) == jobs
    assert find_violations(final, log, handler_runs=handler.runs) == []
    assert all(job.is_settled for job in final)
    assert store.get_processing_jobs() == []
    for job in store.get_failed_jobs():
        assert job.last_error and job.attempts == job.max_retries
    accepted_claims = sum(t.accepted and t.to_status is JobStatus.PROCESSING for t in log)
    assert accepted_claims == sum(job.attempts for job in final) == len(handler.runs)
    assert [t for t in log if not t.accepted] == []
    counts = store.counts()
    assert counts[JobStatus.COMPLETED] + counts[JobStatus.FAILED] == jobs
    assert counts[JobStatus.FAILED] > 0 and counts[JobStatus.COMPLETED] > 0
