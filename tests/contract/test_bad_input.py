"""Bad arguments are refused with typed errors on every kind of store, before anything changes:
not a job, not a claim, not even an audit entry (a refusal the store decides, such as a stale
claim, is audited and tested with the rule it enforces)."""

import pytest

from jobqueue_lab import JobStatus
from jobqueue_lab.validation import MAX_PAYLOAD_DEPTH
from tests.steps import claimed, store_state, untouched

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


def state(store):
    """Everything observable about a store, to prove a refused call changed nothing."""
    return store.list_jobs(), store.counts(), len(store)


# --- creating and reporting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((None,), {}, TypeError, "job type must be a str, got NoneType"),
        (("",), {}, ValueError, "job type must not be empty"),
        (("   ",), {}, ValueError, "job type must not be empty"),
        (("t", ["not", "a", "dict"]), {}, TypeError, "payload must be a dict"),
        (("t", {"when": object()}), {}, TypeError, r"payload\['when'\] is a object"),
        (("t", {1: "x"}), {}, TypeError, "JSON object keys must be str"),
        (("t", {"x": {"y": [1, {2, 3}]}}), {}, TypeError, r"payload\['x'\]\['y'\]\[1\] is a set"),
        (("t", {"x": float("nan")}), {}, ValueError, "JSON cannot represent"),
        (("t",), {"max_retries": 0}, ValueError, "max_retries must be an int >= 1, got 0"),
        (("t",), {"max_retries": True}, TypeError, "max_retries must be an int, got bool"),
        (("t",), {"max_retries": 2.0}, TypeError, "max_retries must be an int, got float"),
    ],
)
def test_bad_input_to_create_job_is_refused_and_stores_nothing(
    make_store, args, kwargs, error, message
):
    store = make_store()
    store.create_job("existing")
    before = state(store)
    with pytest.raises(error, match=message):
        store.create_job(*args, **kwargs)
    assert state(store) == before
    assert store.create_job("next").id == "job-002", "a refused create must not use up an id"


def test_unknown_status_string_names_the_valid_ones_and_changes_nothing(make_store):
    store = make_store()
    job = store.create_job("t")
    before = (state(store), len(store.transitions()))
    with pytest.raises(ValueError, match="expected one of 'pending', 'processing'"):
        store.update_status(job.id, "done")
    assert (state(store), len(store.transitions())) == before


def test_last_error_of_the_wrong_type_or_on_success_is_refused(make_store):
    store = make_store()
    job = store.create_job("t")
    store.claim_job(job.id)
    with pytest.raises(TypeError, match="last_error must be a str or None, got int"):
        store.update_status(job.id, FAILED, 42)
    with pytest.raises(ValueError, match="only given when a job fails"):
        store.update_status(job.id, COMPLETED, "but why")
    assert store.get_job(job.id).status is PROCESSING


# --- payloads, actors and the start of the audit log ------------------------------------------


def nested(depth):
    payload: dict = {}
    inner = payload
    for _ in range(depth):
        inner["next"] = {}
        inner = inner["next"]
    return payload


def test_payload_nesting_is_limited_and_a_self_reference_is_refused(make_store):
    store = make_store()
    assert store.create_job("t", nested(MAX_PAYLOAD_DEPTH - 1)).payload_json()
    for bad in (nested(MAX_PAYLOAD_DEPTH), nested(600)):
        with pytest.raises(ValueError, match=f"nested more than {MAX_PAYLOAD_DEPTH} levels"):
            store.create_job("t", bad)
    loop: dict = {}
    loop["me"] = loop
    with pytest.raises(ValueError, match="contains itself"):
        store.create_job("t", loop)
    items: list = []
    items.append(items)
    with pytest.raises(ValueError, match="contains itself"):
        store.create_job("t", {"items": items})
    assert len(store) == 1


def test_an_int_too_long_to_write_is_refused_at_create_job(make_store):
    store = make_store()
    with pytest.raises(ValueError, match=r"payload\['n'\] is an int too long"):
        store.create_job("t", {"n": 10**5000})
    assert len(store) == 0
    assert "9" * 3000 in store.create_job("t", {"n": int("9" * 3000)}).payload_json()


@pytest.mark.parametrize(
    ("actor", "error"), [(123, TypeError), (b"x", TypeError), ("", ValueError)]
)
def test_an_actor_is_a_non_empty_str_on_every_write(make_store, actor, error):
    store = make_store()
    job = store.create_job("t", max_retries=2)
    failed = store.create_job("t", max_retries=2)
    store.claim_job(failed.id)
    store.update_status(failed.id, FAILED, "boom")
    before = store_state(store)
    for write in (
        lambda: store.create_job("t", actor=actor),
        lambda: store.claim_job(job.id, actor=actor),
        lambda: store.update_status(failed.id, PENDING, actor=actor),
        lambda: store.retry_failed_jobs(actor=actor),
    ):
        with pytest.raises(error, match="actor must"):
            write()
        assert store_state(store) == before


@pytest.mark.parametrize(
    ("start", "error"), [(-1, ValueError), ("1", TypeError), (True, TypeError), (1.0, TypeError)]
)
def test_transitions_refuses_a_bad_start(make_store, start, error):
    store = make_store()
    store.create_job("t")
    with pytest.raises(error, match="start must be an int"):
        store.transitions(start)


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
