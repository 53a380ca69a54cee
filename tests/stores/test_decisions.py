"""The one decision path: pure decisions, the rules they come from, and the SQL that mirrors them.

Every store asks ``decisions`` whether a request may go ahead; the SQL stores also let the
database pick candidates with conditions written from the same rules. These tests pin the
rules to one place each: the SQL conditions agree with ``TRANSITIONS``, ``may_retry`` and
``lease_expired`` on every combination, ``Job.changed`` agrees with ``dataclasses.replace``, and
no refusal text or lease rule is written twice in the package.
"""

from __future__ import annotations

import inspect
import itertools
import re
import sqlite3
from dataclasses import FrozenInstanceError, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobqueue_lab import ManualClock, Transition
from jobqueue_lab.decisions import (
    Report,
    decide_claim,
    decide_expiry,
    decide_release,
    decide_renewal,
    decide_report,
    decide_requeue,
    decide_retry,
)
from jobqueue_lab.domain import (
    CHANGEABLE,
    RELEASE,
    TRANSITIONS,
    Job,
    JobStatus,
    _Draft,
    can_transition,
    lease_expired,
    may_retry,
    statuses_that_may_become,
)
from jobqueue_lab.errors import InvalidTransition, StaleClaim
from jobqueue_lab.stores.statements import CLAIMABLE, LEASE_EXPIRED, RETRYABLE

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
PACKAGE = Path(__file__).resolve().parents[2] / "jobqueue_lab"


def no_delay(job):
    return 0.0


def job(status=PENDING, **fields_):
    return Job("job-001", "t", status, **fields_)


# --- the SQL conditions say what the domain's rules say -------------------------------------


@pytest.fixture
def rows():
    """Every combination of the columns the conditions read, one row each, in SQLite."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE jobs (n INTEGER, status TEXT, permanent BOOLEAN, attempts INTEGER,"
        " max_retries INTEGER, lease_expires_at REAL)"
    )
    combos = itertools.product(JobStatus, (False, True), range(4), range(1, 4), (None, 5.0, 10.0))
    db.executemany(
        "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?)",
        [(n, s.value, p, a, m, lease) for n, (s, p, a, m, lease) in enumerate(combos)],
    )
    yield db
    db.close()


def chosen(db, condition, *parameters):
    return {n for (n,) in db.execute(f"SELECT n FROM jobs WHERE {condition}", parameters)}


def every_row(db):
    columns = "n, status, permanent, attempts, max_retries, lease_expires_at"
    return db.execute(f"SELECT {columns} FROM jobs")


def test_the_claim_condition_is_the_transition_table(rows):
    expected = {
        n for n, status, *_ in every_row(rows) if can_transition(JobStatus(status), PROCESSING)
    }
    assert chosen(rows, CLAIMABLE) == expected
    assert statuses_that_may_become(PROCESSING) == {PENDING}


def test_the_retry_condition_is_may_retry(rows):
    expected = {
        n
        for n, status, permanent, attempts, max_retries, _ in every_row(rows)
        if may_retry(JobStatus(status), attempts, max_retries, bool(permanent))
    }
    assert chosen(rows, RETRYABLE) == expected
    assert expected, "the rows include jobs that may retry"


@pytest.mark.parametrize("now", [4.0, 5.0, 7.5, 10.0, 11.0])
def test_the_expiry_condition_is_lease_expired_for_a_processing_job(rows, now):
    expected = {
        n
        for n, status, _, _, _, lease in every_row(rows)
        if status == PROCESSING.value and lease_expired(lease, now)
    }
    assert chosen(rows, LEASE_EXPIRED, now) == expected


def test_statuses_that_may_become_reads_the_table_backwards():
    for target in JobStatus:
        assert statuses_that_may_become(target) == {
            source for source, targets in TRANSITIONS.items() if target in targets
        }


# --- one snapshot builder --------------------------------------------------------------------


def test_changed_agrees_with_replace_on_every_field_a_store_changes():
    before = job(PROCESSING, attempts=1, claim=1, claimed_by="w", lease_expires_at=5.0)
    values = {
        "status": FAILED,
        "attempts": 2,
        "last_error": "boom",
        "claim": 2,
        "claimed_by": "v",
        "lease_expires_at": 9.0,
        "lease_seconds": 4.0,
        "retry_at": 12.0,
        "permanent": True,
    }
    assert set(values) == CHANGEABLE
    for name, value in values.items():
        assert before.changed(**{name: value}) == replace(before, **{name: value}), name
    assert before.changed(**values) == replace(before, **values)
    assert before.changed() == before


def test_a_changed_snapshot_is_a_frozen_job_like_any_other():
    after = job().changed(status=PROCESSING, attempts=1)
    assert type(after) is Job
    with pytest.raises(FrozenInstanceError):
        after.status = FAILED  # type: ignore[misc]
    assert after.__slots__ == _Draft.__slots__, "the draft must keep Job's slots, in order"
    assert hash(after) == hash(replace(job(), status=PROCESSING, attempts=1))


def test_a_new_job_is_the_snapshot_its_fields_say():
    created = datetime(2026, 1, 2, tzinfo=UTC)
    new = Job.new("job-007", "email", {"to": "a"}, 4, created)
    assert new == Job(
        id="job-007", type="email", status=PENDING, payload={"to": "a"}, max_retries=4,
        created_at=created,
    )  # fmt: skip
    assert type(new) is Job
    with pytest.raises(FrozenInstanceError):
        new.attempts = 1  # type: ignore[misc]


def test_changed_refuses_a_field_that_never_changes_or_does_not_exist():
    for name in ("id", "type", "payload", "max_retries", "created_at", "atempts"):
        with pytest.raises(TypeError, match=f"'{name}'"):
            job().changed(**{name: 1})
    fixed = {f.name for f in fields(Job)} - CHANGEABLE
    assert fixed == {"id", "type", "payload", "max_retries", "created_at"}
    assert set(inspect.signature(Job.changed).parameters) - {"self"} == CHANGEABLE


# --- decisions are pure and say which refusal ------------------------------------------------


def test_a_claim_decision_counts_the_attempt_and_grants_the_lease():
    decision = decide_claim(job(), "w", at=10.0, lease=5.0)
    after = decision.after
    assert (after.status, after.attempts, after.claim) == (PROCESSING, 1, 1)
    assert (after.claimed_by, after.lease_expires_at, after.lease_seconds) == ("w", 15.0, 5.0)
    entry = Transition(*decision.entry(10.0, "w"))
    assert (entry.from_status, entry.to_status, entry.accepted, entry.claim) == (
        PENDING, PROCESSING, True, 1,
    )  # fmt: skip
    assert entry.lease_seconds == 5.0


def test_a_claim_of_a_job_that_is_not_pending_is_refused_without_an_error():
    for status in (PROCESSING, COMPLETED, FAILED):
        decision = decide_claim(job(status), "w", at=0.0, lease=5.0)
        assert decision.after is None and decision.refusal is None
        assert decision.detail == f"job is {status.value}, not pending"


@pytest.mark.parametrize(
    ("current", "report", "error", "reason"),
    [
        (
            job(PROCESSING, claim=2),
            Report(COMPLETED, claim=1),
            StaleClaim,
            "claim 1 reported completed after losing the job; claim 2 holds the job",
        ),
        (
            job(COMPLETED, claim=1),
            Report(FAILED, "late", claim=1),
            StaleClaim,
            "claim 1 reported failed after losing the job; the job is completed now",
        ),
        (job(COMPLETED), Report(PENDING), InvalidTransition, "completed -> pending is not in"),
        (job(PROCESSING), Report(FAILED, "  "), ValueError, "needs a last_error"),
        (job(PROCESSING), Report(COMPLETED, "why"), ValueError, "only given when a job fails"),
        (job(FAILED, attempts=3), Report(PENDING), ValueError, "no attempts left (3 of 3 used)"),
    ],
)
def test_a_report_decision_names_its_refusal_once(current, report, error, reason):
    decision = decide_report(current, report, "w", at=0.0, lease=5.0, backoff=no_delay)
    assert decision.after is None
    assert type(decision.refusal) is error
    assert reason in decision.detail
    with pytest.raises(error):
        decision.result()


def test_a_failure_report_asks_the_backoff_only_when_the_job_may_retry():
    asked = []

    def backoff(seen):
        asked.append(seen.attempts)
        return 2.0

    running = job(PROCESSING, attempts=1, claim=1, max_retries=2)
    first = decide_report(running, Report(FAILED, "boom", 1), "w", 10.0, 5.0, backoff).after
    assert (first.retry_at, first.lease_expires_at, first.lease_seconds) == (12.0, None, None)
    last = running.changed(attempts=2)
    final = decide_report(last, Report(FAILED, "boom", 1), "w", 10.0, 5.0, backoff).after
    assert final.retry_at is None
    assert asked == [1]


def test_renewal_release_and_expiry_ask_whether_the_claim_holds_the_job():
    held = job(PROCESSING, attempts=1, claim=3, claimed_by="w")
    held = held.changed(lease_expires_at=5.0, lease_seconds=5.0)
    renewed = decide_renewal(held, 3, at=4.0, lease=2.0)
    assert (renewed.after.lease_expires_at, renewed.audited) == (6.0, False)
    assert isinstance(decide_renewal(held, 2, at=4.0, lease=2.0).refusal, StaleClaim)
    released = decide_release(held, 3, "w")
    assert (held.status, released.after.status) == RELEASE
    assert released.after.attempts == 0
    assert isinstance(decide_release(held.changed(status=FAILED), 3, "w").refusal, StaleClaim)
    assert decide_expiry(held, now=4.9, backoff=no_delay) is None
    expired = decide_expiry(held, now=5.0, backoff=no_delay)
    assert expired.after.status is FAILED
    assert expired.detail == "lease expired after 5.0 s: w lost or stuck on attempt 1"


def test_retry_and_requeue_decisions_follow_may_retry_and_is_dead():
    waiting = job(FAILED, attempts=1, last_error="boom", retry_at=8.0)
    assert decide_retry(waiting, now=7.0) is None
    assert decide_retry(waiting, now=8.0).after.status is PENDING
    assert decide_retry(waiting.changed(attempts=3), now=9.0) is None
    refused = decide_requeue(waiting, "op")
    assert "will be retried by the sweeper" in refused.detail
    dead = decide_requeue(waiting.changed(attempts=3), "op").after
    assert (dead.status, dead.attempts, dead.last_error) == (PENDING, 0, "boom")


def test_the_decisions_never_read_a_clock_they_are_not_given():
    clock = ManualClock(100.0)
    decision = decide_claim(job(), "w", at=clock(), lease=1.0)
    clock.advance(50)
    assert decision.after.lease_expires_at == 101.0


# --- each rule and each refusal is written once ----------------------------------------------


def package_sources():
    return {path: path.read_text() for path in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize(
    "words",
    [
        "is not in the transition table",
        "a failed job needs a last_error",
        "is only given when a job fails",
        "only requeue() brings it back",
        "no attempts left (",
        "only a dead job (failed for good) can be requeued",
        "} lost or stuck",
        "after losing the job",
    ],
)
def test_each_refusal_is_worded_in_one_place(words):
    places = [path.name for path, text in package_sources().items() if words in text]
    assert len(places) == 1, places


def test_the_lease_rule_is_compared_in_one_place():
    comparison = re.compile(r"lease_expires_at\s*(<=|<|>=|>)")
    places = [
        f"{path.relative_to(PACKAGE)}:{text[: m.start()].count(chr(10)) + 1}"
        for path, text in package_sources().items()
        for m in comparison.finditer(text)
    ]
    # domain.lease_expired, and the SQL condition written from it (tested above).
    assert sorted(p.split(":")[0] for p in places) == ["domain.py", "stores/statements.py"], places
