"""``report_and_claim_next`` is ``update_status`` followed by ``claim_next``, in one change: on
every kind of store, each case below is played twice on two fresh stores, once with the two
calls and once with the combined one, and everything observable must come out the same: the
answers, the refusals, every job and every audit entry, fencing included."""

import dataclasses

import pytest

from jobqueue_lab import Job, JobStatus
from tests.steps import reclaim

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def _held(store, clock, *, waiting=1):
    """A job held by worker-1 and ``waiting`` more jobs pending behind it."""
    job = store.create_job("t")
    for _ in range(waiting):
        store.create_job("t")
    return store.claim_job(job.id, actor="worker-1")


def completes_with_work_waiting(store, clock):
    return _held(store, clock), (COMPLETED,), {}


def completes_with_nothing_waiting(store, clock):
    return _held(store, clock, waiting=0), (COMPLETED,), {}


def fails_with_work_waiting(store, clock):
    return _held(store, clock), (FAILED, "boom"), {}


def fails_for_good(store, clock):
    return _held(store, clock), (FAILED, "bad payload"), {"permanent": True}


def fails_on_its_last_attempt(store, clock):
    job = store.create_job("t", max_retries=1)
    store.create_job("t")
    return store.claim_job(job.id, actor="worker-1"), (FAILED, "boom"), {}


def reports_after_losing_the_job(store, clock):
    job = _held(store, clock, waiting=2)
    reclaim(store, clock, job)
    return job, (COMPLETED,), {}


def reports_twice(store, clock):
    job = _held(store, clock)
    store.update_status(job.id, COMPLETED, claim=job.claim, actor="worker-1")
    return job, (COMPLETED,), {}


def fails_without_an_error(store, clock):
    return _held(store, clock), (FAILED,), {}


def reports_on_an_unknown_job(store, clock):
    return _held(store, clock), (COMPLETED,), {"job_id": "job-999"}


def claims_a_retried_job_in_its_turn(store, clock):
    first = store.create_job("t")
    store.claim_job(first.id)
    store.update_status(first.id, FAILED, "boom", claim=1)
    held = store.claim_job(store.create_job("t").id, actor="worker-1")
    store.create_job("t")
    store.retry_failed_jobs(actor="sweeper")
    return held, (COMPLETED,), {}


CASES = [
    completes_with_work_waiting,
    completes_with_nothing_waiting,
    fails_with_work_waiting,
    fails_for_good,
    fails_on_its_last_attempt,
    reports_after_losing_the_job,
    reports_twice,
    fails_without_an_error,
    reports_on_an_unknown_job,
    claims_a_retried_job_in_its_turn,
]


def _timeless(found):
    """``found`` with every job's ``created_at`` (the wall clock's, not the test's) left out."""
    if isinstance(found, Job):
        return dataclasses.replace(found, created_at=None)
    if isinstance(found, (list, tuple)):
        return type(found)(_timeless(item) for item in found)
    return found


def _answer(call):
    try:
        return ("returned", _timeless(call()))
    except Exception as error:
        return ("raised", type(error), str(error))


def _in_sequence(store, job_id, report, claim, permanent):
    def both():
        done = store.update_status(
            job_id, *report, claim=claim, permanent=permanent, actor="worker-1"
        )
        return done, store.claim_next(actor="worker-1", lease_seconds=12.0)

    return _answer(both)


def _in_one_step(store, job_id, report, claim, permanent):
    return _answer(
        lambda: store.report_and_claim_next(
            job_id, *report, claim=claim, permanent=permanent, actor="worker-1",
            lease_seconds=12.0,
        )
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_reporting_and_claiming_in_one_step_is_the_two_calls_in_sequence(new_store, case):
    results = []
    for play in (_in_sequence, _in_one_step):
        store, clock = new_store()
        job, report, options = case(store, clock)
        job_id = options.get("job_id", job.id)
        before = len(store.transitions())
        answer = play(store, job_id, report, job.claim, options.get("permanent", False))
        results.append((answer, _timeless(store.list_jobs()), store.transitions(before)))
    (sequence, jobs, audit), (one_step, jobs_after, audit_after) = results
    assert one_step == sequence
    assert jobs_after == jobs
    assert audit_after == audit


def test_the_next_job_is_claimed_only_when_the_report_goes_through(new_store):
    store, clock = new_store()
    job, _, _ = reports_after_losing_the_job(store, clock)
    waiting = store.pending_ids()
    with pytest.raises(Exception, match="claim 1"):
        store.report_and_claim_next(job.id, COMPLETED, claim=job.claim, actor="worker-1")
    assert store.pending_ids() == waiting


def test_the_claimed_job_gets_the_lease_asked_for(new_store):
    store, clock = new_store()
    job = _held(store, clock)
    done, claimed = store.report_and_claim_next(
        job.id, COMPLETED, claim=job.claim, actor="worker-1", lease_seconds=7.0
    )
    assert done.status is COMPLETED
    assert claimed.status is PROCESSING and claimed.claimed_by == "worker-1"
    assert claimed.lease_expires_at == clock() + 7.0
