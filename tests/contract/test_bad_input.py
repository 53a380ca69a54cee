"""Bad arguments are refused with typed errors on every kind of store, before anything changes:
not a job, not a claim, not even an audit entry (a refusal the store decides, such as a stale
claim, is audited and tested with the rule it enforces)."""

import pytest

from jobqueue_lab import JobStatus
from tests.steps import claimed, untouched

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


# --- claims and the permanent flag ------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        ("1", TypeError),
        (True, TypeError),
        (1.0, TypeError),
        (None, TypeError),
    ],
)
def test_a_bad_claim_argument_is_refused_before_anything_happens(new_store, claim, error):
    store, _ = new_store()
    job = claimed(store)
    untouched(store, lambda: store.renew_lease(job.id, claim), error, match="claim")
    untouched(store, lambda: store.release_job(job.id, claim), error, match="claim")
    if claim is not None:
        untouched(store, lambda: store.update_status(job.id, COMPLETED, claim=claim), error)


def test_permanent_is_only_for_a_failure(new_store):
    store, _ = new_store()
    job = claimed(store)
    untouched(
        store,
        lambda: store.update_status(job.id, COMPLETED, claim=1, permanent=True),
        ValueError,
        match="permanent",
    )
    untouched(
        store,
        lambda: store.update_status(job.id, FAILED, "x", claim=1, permanent=1),
        TypeError,
        match="permanent",
    )
