"""The store against a model simple enough to be obviously right: a dict of plain values.

The same model runs against every kind of store (``make_store``).
"""

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

from jobqueue_lab import InMemoryJobStore, InvalidTransition, JobStatus, can_transition

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus
# PostgreSQL text cannot hold a NUL character (its refusal has a test of its own).
text = st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=8)
errors = st.one_of(st.none(), st.just(""), text)


class StoreModel(RuleBasedStateMachine):
    ids = Bundle("ids")
    make_store = InMemoryJobStore  # the test below swaps in each kind of store

    def __init__(self):
        super().__init__()
        self.store = self.make_store()
        self.model: dict[str, dict] = {}
        self.log_length = 0

    @rule(target=ids, max_retries=st.integers(1, 4))
    def create(self, max_retries):
        job = self.store.create_job("t", max_retries=max_retries)
        self.model[job.id] = {"status": PENDING, "attempts": 0, "error": None, "max": max_retries}
        self.log_length += 1
        return job.id

    @rule(job_id=ids)
    def claim(self, job_id):
        expected = self.model[job_id]
        claimed = self.store.claim_job(job_id)
        self.log_length += 1
        if expected["status"] is PENDING:
            assert claimed is not None
            expected["status"] = PROCESSING
            expected["attempts"] += 1
        else:
            assert claimed is None

    @rule(job_id=ids, status=st.sampled_from(list(JobStatus)), error=errors)
    def update(self, job_id, status, error):
        expected = self.model[job_id]
        allowed = can_transition(expected["status"], status)
        if status is FAILED:
            allowed = allowed and bool(error and error.strip())
        elif error is not None:
            allowed = False
        if status is PENDING:
            allowed = allowed and expected["attempts"] < expected["max"]
        try:
            self.store.update_status(job_id, status, error)
        except (InvalidTransition, ValueError):
            assert not allowed
        else:
            assert allowed
            expected["status"] = status
            if status is PROCESSING:
                expected["attempts"] += 1
            if error is not None:
                expected["error"] = error
        self.log_length += 1

    @rule()
    def retry(self):
        retried = self.store.retry_failed_jobs()
        expected = [
            i for i, m in self.model.items() if m["status"] is FAILED and m["attempts"] < m["max"]
        ]
        assert [j.id for j in retried] == expected
        for job_id in expected:
            self.model[job_id]["status"] = PENDING
        self.log_length += len(expected)

    @invariant()
    def store_matches_model(self):
        jobs = self.store.list_jobs()
        assert [j.id for j in jobs] == list(self.model)
        for job in jobs:
            m = self.model[job.id]
            assert (job.status, job.attempts, job.last_error) == (
                m["status"],
                m["attempts"],
                m["error"],
            )
            assert job.attempts <= job.max_retries
        counts = self.store.counts()
        for status in JobStatus:
            assert counts[status] == sum(m["status"] is status for m in self.model.values())
            assert [j.id for j in self.store.list_jobs(status)] == [
                i for i, m in self.model.items() if m["status"] is status
            ]
        assert len(self.store.transitions()) == self.log_length


    def teardown(self):
        if hasattr(self.store, "close"):
            self.store.close()


SETTINGS = settings(max_examples=150, stateful_step_count=40, deadline=None)
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")


def test_the_store_matches_the_model(make_store):
    model = type("StoreModel", (StoreModel,), {"make_store": staticmethod(make_store)})
    run_state_machine_as_test(model, settings=SETTINGS)
