"""Many workers, hundreds of jobs, mixed failure policies, repeated: every rule holds every time;
and runs in which workers hang or are lost, whose jobs must be recovered and whose late reports
must be fenced off."""

import itertools
import threading
import time

import pytest

from jobqueue_lab import (
    InMemoryJobStore,
    JobStatus,
    PermanentFailure,
    WorkerPool,
    combine,
    constant,
    fail_by_type,
    fail_every_nth_attempt,
    fail_on_payload,
    fail_until_attempt,
    simulated_work,
)
from jobqueue_lab.checks import (
    STALE_RESULT,
    STUCK_IN_PROCESSING,
    HandlerRun,
    RunLog,
    find_violations,
)
from tests.support import wait_for

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


# --- hung and lost workers among healthy ones (issue 11) ------------------------------------

LEASE = 0.25
SWEEP = 0.01
# A job may stay processing for one sweep after its lease ran out; the rest is room for a
# busy machine to schedule the sweeper, and still far less than a job that is never recovered.
GRACE = SWEEP + 0.5
STOP_TIMEOUT = 0.2
STOP_BOUND = STOP_TIMEOUT + 3.0  # "returns within about its timeout", generously
MIX = {"hung": 2, "lost": 2, "long": 2, "flaky": 3, "permanent": 2, "quick": 9}


class Zombies:
    """Handlers for a run in which some workers hang and some are lost.

    On its first claim a ``hung`` job blocks until the test lets it go, ignoring the pool's
    stop, and then reports "completed"; a ``lost`` job stops heartbeating until its lease ran
    out and the sweeper took the job away, and then reports "failed". Both reports come too
    late and must be fenced off. ``long`` jobs outlive their lease and heartbeat to keep it,
    ``flaky`` ones fail once, ``permanent`` ones fail for good, ``quick`` ones just succeed.
    """

    def __init__(self, store):
        self.store = store
        self.let_go = threading.Event()
        self.long = simulated_work(seconds=LEASE * 1.5)
        self.flaky = simulated_work(fail=fail_until_attempt(2))

    def __call__(self, job):
        if job.type == "hung" and job.claim == 1:
            self.let_go.wait(30)
        elif job.type == "lost" and job.claim == 1:
            assert wait_for(lambda: self.taken_away(job), timeout=30)
            raise RuntimeError("back from the dead")
        elif job.type == "long":
            self.long(job)
        elif job.type == "flaky":
            self.flaky(job)
        elif job.type == "permanent":
            raise PermanentFailure("malformed payload")

    def taken_away(self, job):
        now = self.store.get_job(job.id)
        return now.status is not JobStatus.PROCESSING or now.claim != job.claim


def unexpected(jobs, now, **options):
    """Every violation but "still processing", which is fine while a run goes on."""
    found = find_violations(jobs, now=now, grace=GRACE, expect_settled=False, **options)
    return [v for v in found if v.invariant != STUCK_IN_PROCESSING]


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_hung_and_lost_workers_are_recovered_and_their_late_reports_fenced(repetition):
    store = InMemoryJobStore(backoff=constant(0.02))
    handler = Zombies(store)
    runs = RunLog()
    pool = WorkerPool(
        store, workers=6, handler=runs.watch(handler), sweeper_interval=SWEEP, lease_seconds=LEASE
    )
    try:
        pool.start()
        kinds = [kind for kind, count in MIX.items() for _ in range(count)]
        jobs = {pool.submit(kind, {"n": n}, max_retries=3).id: kind for n, kind in enumerate(kinds)}

        deadline = time.monotonic() + 30
        checkpoints = 0
        while not store.wait_until_settled(timeout=0.02):
            assert time.monotonic() < deadline, "the run did not settle in time"
            now = store.now()  # read first: every snapshot below is at least this recent
            assert unexpected(store.list_jobs(), now) == []
            checkpoints += 1
        assert checkpoints > 0, "the run was checked while it went on"
        assert unexpected(store.list_jobs(), store.now()) == []

        began = time.monotonic()
        assert pool.stop(timeout=STOP_TIMEOUT) is False, "the hung handlers ignore the stop"
        assert time.monotonic() - began < STOP_BOUND
    finally:
        handler.let_go.set()

    def late_reports():
        return [t for t in store.transitions() if not t.accepted and t.claim == 1]

    zombies = [job_id for job_id, kind in jobs.items() if kind in ("hung", "lost")]
    assert wait_for(lambda: {t.job_id for t in late_reports()} >= set(zombies), timeout=10)
    assert wait_for(lambda: not any(w.is_alive() for w in pool.workers), timeout=10)
    began = time.monotonic()
    assert pool.stop(timeout=STOP_TIMEOUT) is True
    assert time.monotonic() - began < STOP_BOUND

    final = store.list_jobs()
    log = store.transitions()
    assert find_violations(final, log, handler_runs=runs.runs, now=store.now()) == []
    assert store.get_processing_jobs() == []
    for job in final:
        kind = jobs[job.id]
        assert job.attempts <= job.max_retries
        if kind == "permanent":
            assert (job.status, job.attempts, job.permanent) == (JobStatus.FAILED, 1, True)
            assert job.last_error == "PermanentFailure: malformed payload"
        else:
            assert job.status is JobStatus.COMPLETED, (job, kind)
    for job_id in zombies:
        recovered = [
            t
            for t in log
            if t.job_id == job_id
            and t.accepted
            and t.actor == "sweeper"
            and t.to_status is JobStatus.FAILED
            and t.claim == 1
        ]
        assert len(recovered) == 1
        assert recovered[0].detail.startswith(f"lease expired after {LEASE} s: worker-")
        assert store.get_job(job_id).claim >= 2, "a later claim finished the job"
    for job_id, kind in jobs.items():
        if kind in ("hung", "lost"):
            [late] = [t for t in late_reports() if t.job_id == job_id]
            word = "completed" if kind == "hung" else "failed"
            assert late.detail.startswith(f"claim 1 reported {word} after losing the job; ")
    for entry in log:
        if not entry.accepted:
            assert "after losing the job" in entry.detail, "the only refusals are fenced reports"
    assert STALE_RESULT not in {v.invariant for v in find_violations(final, log)}
