import dataclasses
import itertools

import pytest

from jobqueue_lab import TRANSITIONS, Job, JobStatus, can_transition
from jobqueue_lab.domain import freeze_payload, parse_status, thaw_payload

ALLOWED = {
    (JobStatus.PENDING, JobStatus.PROCESSING),
    (JobStatus.PROCESSING, JobStatus.COMPLETED),
    (JobStatus.PROCESSING, JobStatus.FAILED),
    (JobStatus.FAILED, JobStatus.PENDING),
}


def test_status_values_are_exactly_the_four_states():
    assert [s.value for s in JobStatus] == ["pending", "processing", "completed", "failed"]
    assert JobStatus("failed") is JobStatus.FAILED
    assert JobStatus.FAILED == "failed"
    assert str(JobStatus.PENDING) == "pending"


@pytest.mark.parametrize("pair", list(itertools.product(JobStatus, repeat=2)))
def test_can_transition_allows_exactly_the_table(pair):
    assert can_transition(*pair) is (pair in ALLOWED)


def test_the_table_is_the_single_source_of_the_rule():
    table_pairs = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
    assert table_pairs == ALLOWED
    with pytest.raises(TypeError):
        TRANSITIONS[JobStatus.COMPLETED] = frozenset({JobStatus.PENDING})


def test_parse_status_accepts_strings_and_names_valid_values_when_wrong():
    assert parse_status("completed") is JobStatus.COMPLETED
    assert parse_status(JobStatus.FAILED) is JobStatus.FAILED
    with pytest.raises(ValueError, match="'pending', 'processing', 'completed', 'failed'"):
        parse_status("done")
    with pytest.raises(ValueError, match="unknown job status 3"):
        parse_status(3)


def test_job_is_immutable_and_its_payload_read_only():
    job = Job(
        id="job-001",
        type="email",
        status=JobStatus.PENDING,
        payload=freeze_payload({"to": ["a@example.org"], "meta": {"n": 1}}),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = JobStatus.FAILED
    with pytest.raises(TypeError):
        job.payload["to"] = "b@example.org"
    with pytest.raises(TypeError):
        job.payload["meta"]["n"] = 2
    assert job.payload["to"] == ("a@example.org",)
    assert thaw_payload(job.payload) == {"to": ["a@example.org"], "meta": {"n": 1}}
    assert job.payload_json() == '{"meta": {"n": 1}, "to": ["a@example.org"]}'


def test_job_repr_has_no_timestamp_so_notebook_output_is_reproducible():
    job = Job(id="job-001", type="email", status=JobStatus.PENDING)
    assert "created_at" not in repr(job)
    assert "0x" not in repr(job)


@pytest.mark.parametrize(
    ("status", "attempts", "can_retry", "settled"),
    [
        (JobStatus.PENDING, 0, False, False),
        (JobStatus.PROCESSING, 1, False, False),
        (JobStatus.COMPLETED, 1, False, True),
        (JobStatus.FAILED, 2, True, False),
        (JobStatus.FAILED, 3, False, True),
    ],
)
def test_retry_and_settled_follow_attempts_against_max_retries(
    status, attempts, can_retry, settled
):
    job = Job(id="j", type="t", status=status, max_retries=3, attempts=attempts)
    assert job.can_retry is can_retry
    assert job.is_settled is settled
