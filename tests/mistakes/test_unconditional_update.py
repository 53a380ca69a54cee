"""The lost update across processes, piece by piece: ``UnconditionalUpdateStore`` loses an
attempt whenever two claims meet at its race window, and the real SQLite store, under the same
pressure, grants one claim. (The scenario that plays it with two real processes, 20 times, is
in test_scenarios.)

Two store objects on one file are two connections, which is all a second process adds as far
as the database can tell; here they run on two threads, held at the same moment by a Barrier.
"""

from __future__ import annotations

import threading

import pytest

from jobqueue_lab import COMPLETED, PENDING, PROCESSING, SQLiteJobStore
from jobqueue_lab.checks import (
    PROCESSED_TWICE,
    STUCK_IN_PROCESSING,
    Violation,
    find_violations,
)
from jobqueue_lab.mistakes.broken import UnconditionalUpdateStore
from jobqueue_lab.mistakes.hooks import ProcessMeetingPoint
from jobqueue_lab.mistakes.scenarios.harness import run_threads

TIMEOUT = 30.0


def claim_at_once(stores, job_id, *, before_claim=lambda: None):
    """Each store (a connection of its own) claims ``job_id`` on its own thread; the answers."""
    answers = {}

    def claimant(name, store):
        def claim():
            before_claim()
            answers[name] = store.claim_job(job_id, actor=name)

        return claim

    run_threads(
        {f"process-{n}": claimant(f"process-{n}", s) for n, s in enumerate(stores, 1)}, TIMEOUT
    )
    return answers


def test_a_claim_nobody_races_works_as_the_real_stores_does(tmp_path):
    with UnconditionalUpdateStore(tmp_path / "jobs.db") as store:
        job_id = store.create_job("report").id
        job = store.claim_job(job_id, actor="process-1")
        assert (job.status, job.attempts, job.claim, job.claimed_by) == (
            PROCESSING,
            1,
            1,
            "process-1",
        )
        assert store.get_job(job_id) == job
        assert store.claim_job(job_id, actor="process-2") is None
        store.update_status(job_id, COMPLETED, claim=1, actor="process-1")
        assert find_violations(store.list_jobs(), store.transitions()) == []


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_two_claims_held_at_the_window_are_both_granted_and_one_attempt_is_lost(
    tmp_path, repetition
):
    both_have_read = threading.Barrier(2, timeout=TIMEOUT)
    path = tmp_path / "jobs.db"
    stores = [
        UnconditionalUpdateStore(path, race_window=lambda job: both_have_read.wait())
        for _ in range(2)
    ]
    try:
        job_id = stores[0].create_job("report").id
        answers = claim_at_once(stores, job_id)
        assert sorted((job.attempts, job.claim) for job in answers.values()) == [(1, 1), (1, 1)]
        final = stores[0].get_job(job_id)
        assert (final.status, final.attempts, final.claim) == (PROCESSING, 1, 1)
        log = stores[0].transitions()
        claims = [(t.from_status, t.to_status, t.accepted, t.claim) for t in log[1:]]
        assert claims == [(PENDING, PROCESSING, True, 1)] * 2
        assert find_violations([final], log, expect_settled=False) == [
            Violation(PROCESSED_TWICE, job_id, f"claimed by {log[2].actor} while still processing"),
            Violation(STUCK_IN_PROCESSING, job_id, "still processing at the end"),
        ]
    finally:
        for store in stores:
            store.close()


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(20))
def test_the_real_store_under_the_same_pressure_grants_one_claim(tmp_path, repetition):
    released_together = threading.Barrier(2, timeout=TIMEOUT)
    path = tmp_path / "jobs.db"
    stores = [SQLiteJobStore(path) for _ in range(2)]
    try:
        job_id = stores[0].create_job("report").id
        answers = claim_at_once(stores, job_id, before_claim=released_together.wait)
        granted = [job for job in answers.values() if job is not None]
        assert [(job.attempts, job.claim) for job in granted] == [(1, 1)]
        log = stores[0].transitions()
        assert sorted((t.accepted, t.claim) for t in log[1:]) == [(False, None), (True, 1)]
        assert stores[0].get_job(job_id).status is PROCESSING
        assert find_violations(stores[0].list_jobs(), log, expect_settled=False) == [
            Violation(STUCK_IN_PROCESSING, job_id, "still processing at the end")
        ], "the winner is still at work: nothing else is wrong"
    finally:
        for store in stores:
            store.close()


def test_the_variant_differs_from_the_real_store_in_its_claim_alone():
    assert issubclass(UnconditionalUpdateStore, SQLiteJobStore)
    plumbing = {"__module__", "__doc__", "__qualname__", "__abstractmethods__", "_abc_impl"}
    assert set(vars(UnconditionalUpdateStore)) - plumbing == {
        "__init__",
        "claim_job",
    }


def test_a_process_whose_partner_never_comes_gives_up_instead_of_hanging(tmp_path):
    alone = ProcessMeetingPoint(tmp_path, "process-1", parties=2, timeout=0.05)
    with pytest.raises(TimeoutError, match=r"process-1 waited 0\.05 s for the others at read"):
        alone.wait("read")
    company = ProcessMeetingPoint(tmp_path, "process-2", parties=2, timeout=0.05)
    company.wait("read")  # process-1's file is still there: both have arrived
