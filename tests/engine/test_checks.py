"""The invariant checker, on hand-made runs whose violations are known, and on clean real runs."""

import itertools
import threading

import pytest

from jobqueue_lab import Job, JobStatus, Transition, WorkerPool, fail_by_type, simulated_work
from jobqueue_lab.checks import (
    COMPLETED_CHANGED,
    FAILED_WITHOUT_ERROR,
    INVARIANTS,
    JOB_LOST,
    NOT_SETTLED,
    OUTSIDE_TABLE,
    PAST_LEASE,
    PROCESSED_TWICE,
    STALE_RESULT,
    STUCK_IN_PROCESSING,
    TOO_MANY_ATTEMPTS,
    HandlerRun,
    RunLog,
    Violation,
    Witness,
    find_violations,
)

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
ERROR = "SimulatedFailure: email jobs always fail in this simulation"


def job(job_id="job-001", status=COMPLETED, attempts=1, max_retries=3, last_error=None):
    return Job(
        job_id, "email", status, max_retries=max_retries, attempts=attempts, last_error=last_error
    )


def step(job_id, from_status, to_status, accepted=True, actor="worker-1", detail=None, claim=None):
    return Transition(0.0, job_id, from_status, to_status, accepted, actor, detail, claim)


def life(job_id="job-001", *statuses, actor="worker-1"):
    """The accepted transitions of one job: creation, then each status in turn."""
    chain = [None, PENDING, *statuses]
    return [
        step(job_id, a, b, actor=actor if a else "scenario") for a, b in itertools.pairwise(chain)
    ]


def kinds(found):
    return [(v.invariant, v.job_id) for v in found]


# --- a clean run reports nothing ------------------------------------------------------------


def test_a_clean_hand_made_run_has_no_violations():
    jobs = [job("job-001"), job("job-002", FAILED, attempts=2, max_retries=2, last_error=ERROR)]
    transitions = [
        *life("job-001", PROCESSING, COMPLETED),
        *life("job-002", PROCESSING, FAILED, PENDING, PROCESSING, FAILED),
        step("job-001", COMPLETED, PROCESSING, accepted=False, detail="job is completed"),
    ]
    runs = [HandlerRun("job-001", "worker-1", 0, 1), HandlerRun("job-002", "worker-2", 2, 3)]
    runs.append(HandlerRun("job-002", "worker-1", 4, 5))
    assert find_violations(jobs, transitions, handler_runs=runs) == []


def test_a_real_run_watched_by_its_handler_has_no_violations():
    log = RunLog()
    handler = log.watch(simulated_work(fail=fail_by_type("email")))
    with WorkerPool(workers=3, handler=handler, sweeper_interval=0.001) as pool:
        for n in range(12):
            pool.submit("email" if n % 3 == 0 else "report", {"n": n}, max_retries=2)
        assert pool.wait(timeout=30)
    store = pool.store
    assert len(log.runs) == 16
    assert find_violations(store.list_jobs(), store.transitions(), handler_runs=log.runs) == []


# --- each invariant, caught -----------------------------------------------------------------


def test_a_job_missing_from_the_final_jobs_is_lost():
    transitions = [*life("job-001", PROCESSING, COMPLETED), *life("job-002")]
    assert kinds(find_violations([job("job-001")], transitions)) == [(JOB_LOST, "job-002")]
    found = find_violations([job("job-001")], created=["job-001", "job-002", "job-002"])
    assert found == [Violation(JOB_LOST, "job-002", "created, but missing from the final jobs")]


def test_two_overlapping_runs_are_processing_twice_named_the_same_whichever_started_first():
    one, two = HandlerRun("job-001", "worker-2", 0, 3), HandlerRun("job-001", "worker-1", 1, 2)
    expected = [
        Violation(PROCESSED_TWICE, "job-001", "worker-1 and worker-2 ran it at the same time")
    ]
    assert find_violations([job(attempts=2)], handler_runs=[one, two]) == expected
    later_first = [HandlerRun("job-001", "worker-1", 0, 3), HandlerRun("job-001", "worker-2", 1, 2)]
    assert find_violations([job(attempts=2)], handler_runs=later_first) == expected


def test_runs_that_only_touch_do_not_overlap():
    runs = [HandlerRun("job-001", "worker-1", 0, 1), HandlerRun("job-001", "worker-2", 1, 2)]
    assert find_violations([job(attempts=2)], handler_runs=runs) == []


def test_more_runs_than_accepted_claims_is_processing_twice():
    transitions = life("job-001", PROCESSING, COMPLETED)
    runs = [HandlerRun("job-001", "worker-1", 0, 1), HandlerRun("job-001", "worker-1", 2, 3)]
    assert find_violations([job()], transitions, handler_runs=runs) == [
        Violation(PROCESSED_TWICE, "job-001", "handlers ran it 2 times for 1 recorded attempt(s)")
    ]


def test_without_an_audit_log_the_claims_come_from_the_final_attempts():
    runs = [HandlerRun("job-001", "worker-1", 0, 1), HandlerRun("job-001", "worker-1", 2, 3)]
    assert find_violations([job(attempts=2)], handler_runs=runs) == []
    assert kinds(find_violations([job(attempts=1)], handler_runs=runs)) == [
        (PROCESSED_TWICE, "job-001")
    ]


def test_a_claim_accepted_while_processing_is_processing_twice():
    transitions = [
        *life("job-001", PROCESSING),
        step("job-001", PENDING, PROCESSING, actor="worker-2"),
    ]
    assert find_violations([job(status=PROCESSING)], transitions, expect_settled=False) == [
        Violation(PROCESSED_TWICE, "job-001", "claimed by worker-2 while still processing"),
        Violation(STUCK_IN_PROCESSING, "job-001", "still processing at the end"),
    ]


def test_an_accepted_change_outside_the_table_is_caught():
    skipped = [*life("job-001"), step("job-001", PENDING, COMPLETED)]
    assert find_violations([job()], skipped) == [
        Violation(
            OUTSIDE_TABLE,
            "job-001",
            "pending -> completed accepted (by worker-1)",
        )
    ]


def test_an_accepted_change_from_a_status_the_job_was_not_in_is_caught():
    stale = [*life("job-001", PROCESSING), step("job-001", FAILED, PENDING)]
    found = find_violations([job(status=PENDING)], stale, expect_settled=False)
    assert found == [
        Violation(
            OUTSIDE_TABLE,
            "job-001",
            "failed -> pending accepted (by worker-1) (the job was processing)",
        )
    ]


def test_a_completed_job_that_changes_again_is_caught():
    transitions = [*life("job-001", PROCESSING, COMPLETED), step("job-001", COMPLETED, PENDING)]
    found = find_violations([job(status=PENDING)], transitions, expect_settled=False)
    assert found == [
        Violation(COMPLETED_CHANGED, "job-001", "completed -> pending accepted (by worker-1)")
    ]


@pytest.mark.parametrize("last_error", [None, "", "   "])
def test_a_failed_job_must_say_why(last_error):
    failed = job(status=FAILED, attempts=3, last_error=last_error)
    assert find_violations([failed]) == [
        Violation(FAILED_WITHOUT_ERROR, "job-001", "failed, last_error is empty")
    ]


def test_attempts_above_the_limit_are_caught_in_the_snapshot_and_in_the_runs():
    assert find_violations([job(attempts=4)]) == [
        Violation(TOO_MANY_ATTEMPTS, "job-001", "4 attempts, but max_retries is 3")
    ]
    runs = [HandlerRun("job-001", "worker-1", 2 * n, 2 * n + 1) for n in range(4)]
    assert find_violations([job(attempts=4)], handler_runs=runs) == [
        Violation(TOO_MANY_ATTEMPTS, "job-001", "4 attempts, but max_retries is 3"),
        Violation(TOO_MANY_ATTEMPTS, "job-001", "handlers ran it 4 times, but max_retries is 3"),
    ]


def test_a_job_left_processing_is_stuck_even_when_settling_is_not_expected():
    found = find_violations([job(status=PROCESSING)], expect_settled=False)
    assert found == [Violation(STUCK_IN_PROCESSING, "job-001", "still processing at the end")]


def test_pending_jobs_and_failed_jobs_with_attempts_left_are_not_settled():
    jobs = [
        job("job-001", PENDING, attempts=0),
        job("job-002", FAILED, attempts=1, last_error=ERROR),
    ]
    assert find_violations(jobs) == [
        Violation(NOT_SETTLED, "job-001", "pending with 0 of 3 attempts used"),
        Violation(NOT_SETTLED, "job-002", "failed with 1 of 3 attempts used"),
    ]
    assert find_violations(jobs, expect_settled=False) == []


def test_refused_changes_are_not_violations():
    transitions = [
        *life("job-001", PROCESSING, COMPLETED),
        step("job-001", COMPLETED, FAILED, accepted=False, detail="not in the table"),
        step("job-001", COMPLETED, PROCESSING, accepted=False, detail="job is completed"),
    ]
    assert find_violations([job()], transitions) == []


def test_every_invariant_is_caught_in_one_run_and_listed_in_the_documented_order():
    jobs = [
        job("job-002", PROCESSING),
        job("job-003", FAILED, attempts=5, last_error=None),
        job("job-004", PENDING, attempts=0),
        job("job-005", COMPLETED, attempts=1),
        job("job-006", COMPLETED),
        leased("job-007", expires=10.0),
        job("job-008", COMPLETED, attempts=2),
    ]
    transitions = [
        *life("job-001"),
        *life("job-005", PROCESSING, COMPLETED),
        step("job-005", COMPLETED, PENDING),
        *life("job-006"),
        step("job-006", PENDING, COMPLETED),
        *zombie_completes("job-008"),
    ]
    runs = [HandlerRun("job-005", "worker-1", 0, 5), HandlerRun("job-005", "worker-2", 1, 2)]
    found = find_violations(jobs, transitions, handler_runs=runs, now=20.0, grace=1.0)
    assert sorted({v.invariant for v in found}, key=INVARIANTS.index) == list(INVARIANTS)
    assert [v.invariant for v in found] == sorted(
        (v.invariant for v in found), key=INVARIANTS.index
    )
    assert kinds(found)[:2] == [(JOB_LOST, "job-001"), (PROCESSED_TWICE, "job-005")]


# --- leases and fencing --------------------------------------------------------------------


def leased(job_id="job-001", expires=10.0, claim=1):
    return Job(job_id, "email", PROCESSING, attempts=claim, claim=claim, lease_expires_at=expires)


def zombie_completes(job_id="job-001"):
    """Claim 1 lost its lease, claim 2 took over, then claim 1's late report was accepted."""
    return [
        step(job_id, None, PENDING, actor="scenario"),
        step(job_id, PENDING, PROCESSING, actor="worker-1", claim=1),
        step(job_id, PROCESSING, FAILED, actor="sweeper", detail="lease expired", claim=1),
        step(job_id, FAILED, PENDING, actor="sweeper"),
        step(job_id, PENDING, PROCESSING, actor="worker-2", claim=2),
        step(job_id, PROCESSING, COMPLETED, actor="worker-1", claim=1),
    ]


def test_a_job_processing_past_its_lease_plus_grace_is_reported():
    jobs = [leased("job-001", expires=10.0), leased("job-002", expires=19.5)]
    assert kinds(find_violations(jobs, now=20.0, grace=1.0, expect_settled=False)) == [
        (STUCK_IN_PROCESSING, "job-001"),
        (STUCK_IN_PROCESSING, "job-002"),
        (PAST_LEASE, "job-001"),
    ]
    assert find_violations(jobs, expect_settled=False, now=None)[-1].invariant != PAST_LEASE


def test_a_result_accepted_from_a_stale_claim_is_reported_and_a_fenced_one_is_not():
    found = find_violations([job("job-001", attempts=2)], zombie_completes())
    assert kinds(found) == [(STALE_RESULT, "job-001")]
    assert "accepted from claim 1 (by worker-1) while claim 2 held the job" in found[0].detail
    fenced = [
        *zombie_completes()[:-1],
        step("job-001", PROCESSING, COMPLETED, accepted=False, claim=1),
        step("job-001", PROCESSING, COMPLETED, actor="worker-2", claim=2),
    ]
    assert find_violations([job("job-001", attempts=2)], fenced) == []


def test_a_release_is_the_one_move_outside_the_table_the_checker_accepts():
    released = [*life("job-001", PROCESSING), step("job-001", PROCESSING, PENDING, claim=1)]
    assert find_violations([job(status=PENDING, attempts=0)], released, expect_settled=False) == []
    reopened = [*life("job-001", PROCESSING, COMPLETED), step("job-001", COMPLETED, PENDING)]
    assert kinds(find_violations([job()], reopened)) == [(COMPLETED_CHANGED, "job-001")]


def test_runs_under_different_claims_may_overlap_but_not_under_the_same_claim():
    transitions = [*zombie_completes()[:-1], step("job-001", PROCESSING, COMPLETED, claim=2)]
    final = [job("job-001", attempts=2)]
    lost_and_retried = [
        HandlerRun("job-001", "worker-1", 0, 9, 1),
        HandlerRun("job-001", "worker-2", 3, 5, 2),
    ]
    assert find_violations(final, transitions, handler_runs=lost_and_retried) == []
    same_claim = [
        HandlerRun("job-001", "worker-1", 0, 9, 2),
        HandlerRun("job-001", "worker-2", 3, 5, 2),
    ]
    assert PROCESSED_TWICE in {
        v.invariant for v in find_violations(final, transitions, handler_runs=same_claim)
    }


# --- the instruments that gather independent evidence ---------------------------------------


def test_a_witness_writes_down_each_change_it_sees_once():
    witness = Witness()
    witness.saw(job(status=PENDING, attempts=0), "scenario")
    witness.saw(job(status=PROCESSING), "worker-1")
    witness.saw(job(status=PROCESSING), "worker-2")
    witness.saw(job(status=COMPLETED), "worker-1")
    seen = [(t.from_status, t.to_status, t.actor, t.accepted) for t in witness.transitions()]
    assert seen == [
        (None, PENDING, "scenario", True),
        (PENDING, PROCESSING, "worker-1", True),
        (PROCESSING, COMPLETED, "worker-1", True),
    ]
    assert find_violations([job()], witness.transitions()) == []


def test_what_a_witness_saw_is_replayed_like_an_audit_log():
    witness = Witness()
    for status, actor in [(PENDING, "scenario"), (PROCESSING, "worker-1"), (COMPLETED, "worker-1")]:
        witness.saw(job(status=status), actor)
    witness.saw(job(status=PROCESSING), "worker-2")
    assert kinds(find_violations([job(status=PROCESSING)], witness.transitions())) == [
        (COMPLETED_CHANGED, "job-001"),
        (STUCK_IN_PROCESSING, "job-001"),
    ]


def test_a_witness_names_the_thread_that_looked_by_default():
    witness = Witness()
    looker = threading.Thread(target=witness.saw, args=(job(status=PENDING),), name="reader")
    looker.start()
    looker.join(timeout=10)
    assert [t.actor for t in witness.transitions()] == ["reader"]


def test_a_run_log_records_each_run_with_its_worker_and_ticks_even_when_the_handler_fails():
    log = RunLog()

    def fail(job):
        raise RuntimeError("boom")

    log.watch(lambda job: None)(job("job-001"))
    log.sweep()
    with pytest.raises(RuntimeError, match="boom"):
        log.watch(fail)(job("job-002"))
    me = threading.current_thread().name
    assert log.runs == [HandlerRun("job-001", me, 0, 1), HandlerRun("job-002", me, 3, 4)]
    assert log.sweeps == [2]


def test_a_run_log_with_a_witness_shows_it_each_job_as_a_run_starts():
    witness = Witness()
    log = RunLog(witness)
    log.watch(lambda job: None)(job(status=PROCESSING))
    assert [t.to_status for t in witness.transitions()] == [PROCESSING]


def test_a_permanent_failure_with_attempts_left_is_settled():
    permanent = Job(
        "job-001", "email", FAILED, attempts=1, max_retries=3, last_error="bad", permanent=True
    )
    transient = job("job-002", FAILED, attempts=1, max_retries=3, last_error="flaky")
    assert kinds(find_violations([permanent, transient])) == [(NOT_SETTLED, "job-002")]
