"""Bad arguments are refused with typed errors on every kind of store, before anything changes:
not a job, not a claim, not even an audit entry (a refusal the store decides, such as a stale
claim, is audited and tested with the rule it enforces)."""

import pytest

from jobqueue_lab import JobStatus
from tests.steps import claimed, untouched

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


# --- leases, claims and the permanent flag ---------------------------------------------------


@pytest.mark.parametrize(
    ("lease", "error", "message"),
    [
        (0, ValueError, "lease_seconds must be more than 0"),
        (-1, ValueError, "lease_seconds must be a number from 0"),
        (float("inf"), ValueError, "lease_seconds must be a number from 0"),
        (10**6, ValueError, "lease_seconds must be a number from 0"),
        ("5", TypeError, "lease_seconds must be a number, got str"),
        (True, TypeError, "lease_seconds must be a number, got bool"),
    ],
)
def test_a_bad_lease_is_refused_before_anything_changes(make_store, lease, error, message):
    store = make_store()
    job = store.create_job("t")
    before = store.list_jobs(), store.transitions()
    for claim in (
        lambda: store.claim_job(job.id, lease_seconds=lease),
        lambda: store.claim_next(lease_seconds=lease),
    ):
        with pytest.raises(error, match=message):
            claim()
    assert (store.list_jobs(), store.transitions()) == before
    with pytest.raises(error, match=message):
        make_store(lease_seconds=lease)


@pytest.mark.parametrize(
    ("claim", "error", "message"),
    [
        (0, ValueError, "claim must be an int >= 1, got 0"),
        (True, TypeError, "claim must be an int, got bool"),
        ("1", TypeError, "claim must be an int, got str"),
        (1.0, TypeError, "claim must be an int, got float"),
    ],
)
def test_a_bad_claim_is_refused_before_anything_changes(make_store, claim, error, message):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    before = store.list_jobs(), store.transitions()
    for call in (
        lambda: store.update_status(job.id, COMPLETED, claim=claim),
        lambda: store.renew_lease(job.id, claim),
        lambda: store.release_job(job.id, claim),
    ):
        with pytest.raises(error, match=message):
            call()
    assert (store.list_jobs(), store.transitions()) == before


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


@pytest.mark.parametrize(
    ("permanent", "status", "error", "message"),
    [
        ("yes", FAILED, TypeError, "permanent must be a bool, got str"),
        (True, COMPLETED, ValueError, "permanent=True is only for a job that fails"),
    ],
)
def test_a_bad_permanent_flag_is_refused(make_store, permanent, status, error, message):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    before = store.list_jobs(), store.transitions()
    with pytest.raises(error, match=message):
        store.update_status(job.id, status, "x" if status is FAILED else None, permanent=permanent)
    assert (store.list_jobs(), store.transitions()) == before


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


# --- reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "error", "message"),
    [
        (-1, ValueError, "limit must be an int >= 0, got -1"),
        (1.5, TypeError, "limit must be an int, got float"),
        (True, TypeError, "limit must be an int, got bool"),
        ("3", TypeError, "limit must be an int, got str"),
    ],
)
def test_pending_ids_refuses_a_bad_limit_and_changes_nothing(make_store, limit, error, message):
    store = make_store()
    store.create_job("t")
    before = store.transitions()
    with pytest.raises(error, match=message):
        store.pending_ids(limit=limit)
    assert store.transitions() == before
