"""Wrong answers to the exercises are caught, with feedback that points at what is wrong.

The notebook tests prove that every starter is reported unsolved and every worked solution
passes. These tests feed the checks the plausible wrong answers a learner writes on the way,
the ones that look right and are not, and assert that each is caught, and told why.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace

from jobqueue_lab import InMemoryJobStore, JobStatus
from jobqueue_lab.exercises import nb02_failure_handling as nb02
from jobqueue_lab.exercises import nb03_simulating_failure as nb03
from jobqueue_lab.exercises import nb06_atomic_updates_and_races as nb06
from jobqueue_lab.exercises import nb08_dashboard as nb08
from jobqueue_lab.exercises import nb09_leases_and_fencing as nb09
from jobqueue_lab.exercises import nb10_permanent_failures_and_idempotency as nb10
from jobqueue_lab.exercises import nb12_many_machines as nb12

# --- 06: a claim under a lock -------------------------------------------------------------


def lock_around_the_read_only(statuses, lock, job_id):
    with lock:
        status = statuses.get(job_id)
    if status != "pending":
        return False
    statuses[job_id] = "processing"
    return True


def lock_around_read_and_write_apart(statuses, lock, job_id):
    with lock:
        status = statuses[job_id]
    if status != "pending":
        return False
    with lock:
        statuses[job_id] = "processing"
    return True


def lock_around_the_write_only(statuses, lock, job_id):
    if statuses[job_id] != "pending":
        return False
    with lock:
        statuses[job_id] = "processing"
    return True


def lock_never_released(statuses, lock, job_id):
    lock.acquire()
    if statuses[job_id] != "pending":
        return False
    statuses[job_id] = "processing"
    return True


def test_06_a_lock_that_does_not_cover_read_and_write_loses_the_race():
    for claim in (
        lock_around_the_read_only,
        lock_around_read_and_write_apart,
        lock_around_the_write_only,
    ):
        problems = nb06.check_claim(claim)
        assert len(problems) == 1, (claim.__name__, problems)
        assert "more than one of them won" in problems[0], claim.__name__
        assert nb06.RACE_HINT in problems[0]


def test_06_a_lock_never_let_go_is_named_at_once():
    started = time.monotonic()
    problems = nb06.check_claim(lock_never_released)
    assert problems == [nb06.kept_the_lock("pending")]
    assert time.monotonic() - started < nb06.PATIENCE


def test_06_a_correct_claim_is_never_held_in_the_window():
    def claim(statuses, lock, job_id):
        with lock:
            if statuses[job_id] != "pending":
                return False
            statuses[job_id] = "processing"
            return True

    started = time.monotonic()
    assert nb06.check_claim(claim) == []
    assert time.monotonic() - started < 1.0


def test_06_the_race_window_holds_no_thread_once_the_check_returns():
    before = threading.active_count()
    nb06.check_claim(lock_around_the_read_only)
    assert threading.active_count() == before


# --- 02: signal, don't set -----------------------------------------------------------------


def test_02_an_outcome_written_into_the_store_behind_its_back_is_caught():
    def report_outcome(store, job_id, error):
        job = store.get_job(job_id)
        status = JobStatus.COMPLETED if error is None else JobStatus.FAILED
        store._jobs[job_id] = replace(job, status=status, last_error=error)

    problems = nb02.check_report_outcome(report_outcome)
    assert len(problems) == 2
    assert all("no accepted change" in p and "behind the store's back" in p for p in problems)


# --- 03: a failure policy of your own ------------------------------------------------------


def gives_the_answer_away(problem: str) -> bool:
    """True when a problem shows the fix instead of pointing at what is wrong."""
    return ".get(" in problem or "PAGE_LIMIT" in problem


def big_report(job) -> bool:
    return job.type == "report" and job.payload.get("pages", 0) > 100


def test_03_a_policy_that_flips_a_coin_is_caught_changing_its_mind():
    rng = random.Random(3)  # seeded, so this test itself gives the same answers every run

    def fail_big_reports(job):
        return "the coin said no" if rng.random() < 0.5 else None

    problems = nb03.check_fail_big_reports(fail_big_reports)
    disagreed = [p for p in problems if "the two runs disagreed" in p]
    assert disagreed, problems
    assert all(nb03.DETERMINISM_HINT in p for p in disagreed)


def test_03_a_policy_that_remembers_what_it_was_asked_is_not_deterministic():
    seen = set()

    def fail_big_reports(job):
        if big_report(job) and job.id not in seen:
            seen.add(job.id)
            return "too many pages"
        return None

    problems = nb03.check_fail_big_reports(fail_big_reports)
    assert len(problems) == 2, problems
    assert all("first 'too many pages', then None" in p for p in problems)
    assert all(nb03.DETERMINISM_HINT in p for p in problems)


def test_03_a_policy_that_crashes_on_a_payload_without_pages_is_told_why_not_how():
    def fail_big_reports(job):
        if job.type == "report" and job.payload["pages"] > 100:
            return "too many pages"
        return None

    (problem,) = nb03.check_fail_big_reports(fail_big_reports)
    assert "payload {}" in problem and "KeyError" in problem
    assert nb03.MISSING_KEY_HINT in problem
    assert not gives_the_answer_away(problem)


def test_03_an_empty_string_for_success_is_told_apart_from_none():
    def fail_big_reports(job):
        return "too many pages" if big_report(job) else ""

    problems = nb03.check_fail_big_reports(fail_big_reports)
    assert len(problems) == 5  # four shown, and a line counting the fifth
    assert all("(no error is None, never an empty string)" in p for p in problems[:4])
    assert problems[4] == "... and 1 more like these"


def test_03_a_policy_that_answers_true_or_false_is_told_what_a_policy_returns():
    def fail_big_reports(job):
        return big_report(job)

    problems = nb03.check_fail_big_reports(fail_big_reports)
    assert problems[0].endswith(f"returned True; {nb03.ANSWER_HINT}")
    assert any(p.endswith(f"returned False; {nb03.ANSWER_HINT}") for p in problems)


def test_03_a_policy_that_fails_the_wrong_jobs_names_each_of_them():
    def fail_big_reports(job):
        return "too many pages" if job.payload.get("pages", 0) >= 100 else None

    problems = nb03.check_fail_big_reports(fail_big_reports)
    assert problems == [
        "the report job with payload {'pages': 100} should succeed (return None) but got "
        "'too many pages'",
        "the email job with payload {'pages': 500} should succeed (return None) but got "
        "'too many pages'",
    ]
    assert not any(gives_the_answer_away(p) for p in problems)


# --- 09: keep the lease alive; 10: an invoice sent once --------------------------------------


def test_09_a_lease_renewed_in_another_store_says_which_store_holds_the_job():
    elsewhere = InMemoryJobStore()  # the notebook's own store, with a job-001 of its own
    elsewhere.claim_job(elsewhere.create_job("resize").id, actor="worker-1")
    elsewhere.release_job("job-001", 1, actor="worker-1")

    def long_export(job, step):
        for _ in range(3):
            step(job)
            elsewhere.renew_lease(job.id, claim=job.claim, actor="worker-1")

    problems = nb09.check_long_export(long_export)
    assert len(problems) == 1
    assert "raised StaleClaim" in problems[0]
    assert nb09.OTHER_STORE_HINT in problems[0]


SENT_IDS: set[str] = set()


def remembered_after_sending(job, mail):
    if job.id in SENT_IDS:
        return
    mail.send(job.payload["to"], nb10.invoice_text(job.payload["number"]))
    SENT_IDS.add(job.id)


def remembered_before_sending(job, mail):
    if job.id in SENT_IDS:
        return
    SENT_IDS.add(job.id)
    mail.send(job.payload["to"], nb10.invoice_text(job.payload["number"]))


def test_10_invoices_remembered_by_the_handler_are_caught():
    SENT_IDS.clear()
    problems = nb10.check_send_invoice(remembered_after_sending)
    assert problems and all("was sent 2 times" in p for p in problems), problems

    SENT_IDS.clear()
    problems = nb10.check_send_invoice(remembered_before_sending)
    assert problems and all("without a key" in p for p in problems), problems


def test_10_a_second_run_of_a_remembering_handler_is_not_blamed_on_keys():
    SENT_IDS.clear()
    nb10.check_send_invoice(remembered_before_sending)
    problems = nb10.check_send_invoice(remembered_before_sending)
    assert problems and all("never handed to the mail service" in p for p in problems), problems
    assert not any("key" in p for p in problems)


def test_10_one_key_for_every_job_is_told_apart_from_no_key():
    def send_invoice(job, mail):
        number = job.payload["number"]
        mail.send(job.payload["to"], nb10.invoice_text(number), key="invoice")

    problems = nb10.check_send_invoice(send_invoice)
    assert problems and all("Different jobs need different keys" in p for p in problems)


# --- 12: a claim in one statement ----------------------------------------------------------


def claim_starting_with(begin):
    """A read-then-write claim in one transaction that starts with ``begin``."""

    def claim(db, job_id):
        db.execute(begin)
        (status,) = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if status != "pending":
            db.execute("ROLLBACK")
            return False
        db.execute("UPDATE jobs SET status = 'processing' WHERE id = ?", (job_id,))
        db.execute("COMMIT")
        return True

    return claim


def test_12_a_plain_begin_is_told_what_begin_immediate_changes():
    started = time.monotonic()
    problems = nb12.check_claim(claim_starting_with("BEGIN"))
    assert problems and all("database is locked" in p for p in problems), problems
    assert all(nb12.LOCKED_HINT in p for p in problems)
    assert not any("did not return" in p for p in problems)
    assert time.monotonic() - started < nb12.PATIENCE


def test_12_begin_immediate_wins_the_race_once():
    assert nb12.check_claim(claim_starting_with("BEGIN IMMEDIATE")) == []


# --- 08: a misspelled choice ---------------------------------------------------------------


def test_08_a_misspelled_policy_is_told_the_choices():
    def configure(dash):
        dash.jobs.value = 12
        dash.handler_seconds.value = 0.0
        dash.failure_policy.value = "transient until attempt two"

    (problem,) = nb08.check_configure(configure)
    assert "TraitError" in problem
    assert "'transient until attempt 2'" in problem and "dash.failure_policy.value" in problem
