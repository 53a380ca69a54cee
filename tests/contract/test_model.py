"""The store against a model simple enough to be obviously right: a dict of plain values.

Hypothesis runs random sequences of every write the store offers (create, claim, claim_next,
report with or without a claim, heartbeat, release, recovery of expired leases, retry, requeue)
while a fake clock moves on in steps. The model predicts each outcome (the snapshot returned or
the error raised, and the audit entry written) and after every step the whole store must match
it: every field of every job, the counts, the order of the pending jobs, the dead-letter view
and the audit log, which the invariant checker must also find clean. The same model runs
against every kind of store (``make_store``).
"""

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from jobqueue_lab import (
    InMemoryJobStore,
    InvalidTransition,
    JobStatus,
    ManualClock,
    StaleClaim,
    can_transition,
    exponential,
)
from jobqueue_lab.checks import STUCK_IN_PROCESSING, find_violations

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
START = 1000.0
LEASE = 10.0
ANY = object()  # an audit detail the model does not predict word for word

# PostgreSQL text cannot hold a NUL character, and no database holds a lone surrogate (their
# refusals have tests of their own).
text = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=8
)
errors = st.one_of(st.none(), st.just(""), text)
actors = st.sampled_from(["worker-1", "worker-2"])
leases = st.sampled_from([None, 2.5, 5.0, 20.0])
claims = st.sampled_from([None, "current", "stale", "future"])
ASKED = {
    COMPLETED: "reported completed",
    FAILED: "reported failed",
    PROCESSING: "asked to renew its lease",
    PENDING: "asked to release the job",
}


def backoff_delay(attempts: int) -> float:
    """What ``exponential(base=1, factor=2, cap=4)`` asks after attempt ``attempts`` failed."""
    return min(4.0, 2.0 ** (attempts - 1))


@dataclass
class Model:
    status: JobStatus
    max_retries: int
    attempts: int = 0
    error: str | None = None
    claim: int = 0
    claimed_by: str | None = None
    lease_expires_at: float | None = None
    lease_length: float | None = None
    retry_at: float | None = None
    permanent: bool = False

    @property
    def can_retry(self) -> bool:
        return self.status is FAILED and not self.permanent and self.attempts < self.max_retries

    @property
    def dead(self) -> bool:
        return self.status is FAILED and not self.can_retry

    def fields(self) -> tuple:
        return (
            self.status,
            self.attempts,
            self.error,
            self.claim,
            self.claimed_by,
            self.lease_expires_at,
            self.retry_at,
            self.permanent,
        )


def fields(job) -> tuple:
    return (
        job.status,
        job.attempts,
        job.last_error,
        job.claim,
        job.claimed_by,
        job.lease_expires_at,
        job.retry_at,
        job.permanent,
    )


class StoreModel(RuleBasedStateMachine):
    ids = Bundle("ids")
    make_store = InMemoryJobStore  # the test at the end swaps in each kind of store

    def __init__(self):
        super().__init__()
        self.clock = ManualClock(START)
        self.store = self.make_store(
            clock=self.clock,
            lease_seconds=LEASE,
            backoff=exponential(base=1.0, factor=2.0, cap=4.0),
        )
        self.model: dict[str, Model] = {}
        self.waiting: list[str] = []  # pending ids, in the order they started waiting
        self.log: list[tuple] = []  # (job_id, from, to, accepted, claim, detail)

    # --- helpers ----------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def audit(self, job_id, from_status, to_status, accepted, claim=None, detail=None):
        self.log.append((job_id, from_status, to_status, accepted, claim, detail))

    def claim_of(self, m: Model, choice):
        if choice is None:
            return None
        return {"current": max(m.claim, 1), "stale": max(m.claim - 1, 1), "future": m.claim + 1}[
            choice
        ]

    def holds(self, m: Model, claim: int) -> bool:
        return m.status is PROCESSING and m.claim == claim

    def expect_stale(self, job_id, m, to_status, claim, error):
        assert isinstance(error, StaleClaim)
        assert (error.job_id, error.stale_claim, error.current_claim) == (job_id, claim, m.claim)
        assert (error.from_status, error.to_status) == (m.status, to_status)
        holder = (
            f"claim {m.claim} holds the job"
            if m.status is PROCESSING
            else f"the job is {m.status.value} now"
        )
        reason = f"claim {claim} {ASKED[to_status]} after losing the job; {holder}"
        self.audit(job_id, m.status, to_status, False, claim, reason)

    def grant(self, job_id, m: Model, actor: str, lease: float | None):
        length = LEASE if lease is None else lease
        m.status, m.attempts, m.claim, m.claimed_by = PROCESSING, m.attempts + 1, m.claim + 1, actor
        m.lease_expires_at, m.lease_length, m.retry_at = self.now() + length, length, None
        self.waiting.remove(job_id)
        self.audit(job_id, PENDING, PROCESSING, True, m.claim)

    def fail(self, m: Model, error: str, permanent: bool):
        m.status, m.error, m.permanent = FAILED, error, permanent
        m.lease_expires_at = None
        retry = not permanent and m.attempts < m.max_retries
        m.retry_at = self.now() + backoff_delay(m.attempts) if retry else None

    def back_to_pending(self, job_id, m: Model, attempts: int):
        m.status, m.attempts = PENDING, attempts
        m.lease_expires_at = m.retry_at = None
        m.permanent = False
        self.waiting.append(job_id)

    # --- rules ------------------------------------------------------------------------------

    @rule(target=ids, max_retries=st.integers(1, 3))
    def create(self, max_retries):
        job = self.store.create_job("t", max_retries=max_retries)
        self.model[job.id] = Model(PENDING, max_retries)
        self.waiting.append(job.id)
        self.audit(job.id, None, PENDING, True)
        return job.id

    @rule(job_id=ids, actor=actors, lease=leases)
    def claim(self, job_id, actor, lease):
        m = self.model[job_id]
        got = self.store.claim_job(job_id, actor=actor, lease_seconds=lease)
        if m.status is PENDING:
            self.grant(job_id, m, actor, lease)
            assert fields(got) == m.fields()
        else:
            assert got is None
            reason = f"job is {m.status.value}, not pending"
            self.audit(job_id, m.status, PROCESSING, False, None, reason)

    @rule(actor=actors, lease=leases)
    def claim_next(self, actor, lease):
        got = self.store.claim_next(actor=actor, lease_seconds=lease)
        if not self.waiting:
            assert got is None
            return
        job_id = self.waiting[0]
        self.grant(job_id, self.model[job_id], actor, lease)
        assert (got.id, fields(got)) == (job_id, self.model[job_id].fields())

    @rule(
        job_id=ids,
        status=st.sampled_from(list(JobStatus)),
        error=errors,
        choice=claims,
        permanent=st.booleans(),
        actor=actors,
    )
    def report(self, job_id, status, error, choice, permanent, actor):
        m = self.model[job_id]
        claim = self.claim_of(m, choice)
        try:
            got = self.store.update_status(
                job_id, status, error, claim=claim, permanent=permanent, actor=actor
            )
        except (InvalidTransition, ValueError) as exc:
            refusal = exc
        else:
            refusal = None
        if permanent and status is not FAILED:
            assert type(refusal) is ValueError, "refused before anything happens"
            return
        if claim is not None and not self.holds(m, claim):
            self.expect_stale(job_id, m, status, claim, refusal)
            return
        allowed = can_transition(m.status, status)
        if status is FAILED:
            allowed = allowed and bool(error and error.strip())
        elif error is not None:
            allowed = False
        if status is PENDING:
            allowed = allowed and m.can_retry
        if not allowed:
            assert refusal is not None and not isinstance(refusal, StaleClaim)
            self.audit(job_id, m.status, status, False, claim, ANY)
            return
        assert refusal is None
        if status is PROCESSING:
            self.grant(job_id, m, actor, None)
        elif status is COMPLETED:
            m.status, m.lease_expires_at = COMPLETED, None
            self.audit(job_id, PROCESSING, COMPLETED, True, m.claim)
        elif status is FAILED:
            self.fail(m, error, permanent)
            self.audit(job_id, PROCESSING, FAILED, True, m.claim, error)
        else:
            self.back_to_pending(job_id, m, m.attempts)
            self.audit(job_id, FAILED, PENDING, True, m.claim or None)
        assert fields(got) == m.fields()

    @rule(job_id=ids, choice=claims.filter(lambda c: c is not None), lease=leases)
    def heartbeat(self, job_id, choice, lease):
        m = self.model[job_id]
        claim = self.claim_of(m, choice)
        try:
            got = self.store.renew_lease(job_id, claim, lease_seconds=lease)
        except StaleClaim as exc:
            self.expect_stale(job_id, m, PROCESSING, claim, exc)
            return
        assert self.holds(m, claim)
        m.lease_length = LEASE if lease is None else lease
        m.lease_expires_at = self.now() + m.lease_length
        assert fields(got) == m.fields()

    @rule(job_id=ids, choice=claims.filter(lambda c: c is not None), actor=actors)
    def release(self, job_id, choice, actor):
        m = self.model[job_id]
        claim = self.claim_of(m, choice)
        try:
            got = self.store.release_job(job_id, claim, actor=actor)
        except StaleClaim as exc:
            self.expect_stale(job_id, m, PENDING, claim, exc)
            return
        assert self.holds(m, claim)
        note = f"released by {actor}: attempt {m.attempts} not counted"
        self.back_to_pending(job_id, m, m.attempts - 1)
        self.audit(job_id, PROCESSING, PENDING, True, claim, note)
        assert fields(got) == m.fields()

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 4.0, 10.0]))
    def advance(self, seconds):
        self.clock.advance(seconds)

    @rule()
    def recover(self):
        got = self.store.recover_expired_leases(actor="sweeper")
        expired = [
            job_id
            for job_id, m in self.model.items()
            if m.status is PROCESSING and m.lease_expires_at <= self.now()
        ]
        assert [job.id for job in got] == expired
        for job, job_id in zip(got, expired):
            m = self.model[job_id]
            error = (
                f"lease expired after {m.lease_length} s: {m.claimed_by} lost or stuck "
                f"on attempt {m.attempts}"
            )
            self.fail(m, error, permanent=False)
            self.audit(job_id, PROCESSING, FAILED, True, m.claim, error)
            assert fields(job) == m.fields()

    @rule()
    def retry(self):
        got = self.store.retry_failed_jobs(actor="sweeper")
        due = [
            job_id
            for job_id, m in self.model.items()
            if m.can_retry and (m.retry_at is None or m.retry_at <= self.now())
        ]
        assert [job.id for job in got] == due
        for job, job_id in zip(got, due):
            m = self.model[job_id]
            self.back_to_pending(job_id, m, m.attempts)
            self.audit(job_id, FAILED, PENDING, True)
            assert fields(job) == m.fields()

    @rule(job_id=ids)
    def requeue(self, job_id):
        m = self.model[job_id]
        try:
            got = self.store.requeue(job_id, actor="operator")
        except ValueError:
            assert not m.dead
            self.audit(job_id, m.status, PENDING, False, None, ANY)
            return
        assert m.dead
        self.back_to_pending(job_id, m, 0)
        note = f"requeued by operator: a fresh budget of {m.max_retries} attempts"
        self.audit(job_id, FAILED, PENDING, True, None, note)
        assert fields(got) == m.fields()

    # --- the whole store matches the model after every step ------------------------------

    @invariant()
    def store_matches_model(self):
        jobs = self.store.list_jobs()
        assert [j.id for j in jobs] == list(self.model)
        for job in jobs:
            assert fields(job) == self.model[job.id].fields(), job.id
            assert job.attempts <= job.max_retries
        counts = self.store.counts()
        for status in JobStatus:
            expected = [i for i, m in self.model.items() if m.status is status]
            assert counts[status] == len(expected)
            assert [j.id for j in self.store.list_jobs(status)] == expected
        assert self.store.pending_ids() == self.waiting
        assert [j.id for j in self.store.get_dead_jobs()] == [
            i for i, m in self.model.items() if m.dead
        ]
        assert self.store.all_settled() == all(
            m.status is COMPLETED or m.dead for m in self.model.values()
        )

    @invariant()
    def audit_log_matches_model(self):
        log = self.store.transitions()
        assert len(log) == len(self.log)
        for entry, (job_id, from_status, to_status, accepted, claim, detail) in zip(log, self.log):
            assert (entry.job_id, entry.from_status, entry.to_status) == (
                job_id,
                from_status,
                to_status,
            )
            assert (entry.accepted, entry.claim) == (accepted, claim)
            if detail is not ANY:
                assert entry.detail == detail
        found = find_violations(self.store.list_jobs(), log, expect_settled=False)
        assert [v for v in found if v.invariant != STUCK_IN_PROCESSING] == []

    def teardown(self):
        if hasattr(self.store, "close"):
            self.store.close()


SETTINGS = settings(max_examples=200, stateful_step_count=50, deadline=None)


def test_the_store_matches_the_model(make_store):
    model = type("StoreModel", (StoreModel,), {"make_store": staticmethod(make_store)})
    run_state_machine_as_test(model, settings=SETTINGS)
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
