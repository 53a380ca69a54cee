import threading

import pytest

from jobqueue_lab import (
    Job,
    JobStatus,
    SimulatedFailure,
    WorkInterrupted,
    combine,
    fail_by_type,
    fail_every_nth_attempt,
    fail_on_payload,
    fail_until_attempt,
    never_fail,
    simulated_work,
)
from jobqueue_lab.domain import freeze_payload
from jobqueue_lab.worker import _current


def job(type="email", attempts=1, payload=None):
    return Job(
        id="job-001",
        type=type,
        status=JobStatus.PROCESSING,
        attempts=attempts,
        payload=freeze_payload(payload or {}),
    )


def test_fail_by_type_fails_only_listed_types_with_a_filled_in_message():
    policy = fail_by_type("email", "sms")
    assert policy(job("email")) == "email jobs always fail in this simulation"
    assert policy(job("sms")) == "sms jobs always fail in this simulation"
    assert policy(job("report")) is None
    assert fail_by_type("email", message="{type}: SMTP down")(job()) == "email: SMTP down"


def test_fail_every_nth_attempt_fails_multiples_of_n():
    policy = fail_every_nth_attempt(3)
    outcomes = [policy(job(attempts=a)) is not None for a in range(1, 8)]
    assert outcomes == [False, False, True, False, False, True, False]
    assert "attempt 3 fails" in policy(job(attempts=3))


def test_fail_on_payload_matches_the_payload_written_as_json():
    policy = fail_on_payload("error")
    assert policy(job(payload={"subject": "an error report"})) == "payload contains 'error'"
    assert policy(job(payload={"nested": {"tags": ["error"]}})) is not None
    assert policy(job(payload={"subject": "fine"})) is None


def test_fail_until_attempt_is_a_transient_failure():
    policy = fail_until_attempt(3)
    assert [policy(job(attempts=a)) is None for a in (1, 2, 3, 4)] == [False, False, True, True]


def test_combine_uses_the_first_failing_policy():
    policy = combine(fail_by_type("email"), fail_until_attempt(2))
    assert policy(job("email", attempts=5)).startswith("email jobs")
    assert policy(job("report", attempts=1)).startswith("temporary failure on attempt 1")
    assert policy(job("report", attempts=2)) is None
    assert combine()(job()) is None
    assert never_fail(job()) is None


def test_policies_are_deterministic_and_print_readably():
    policy = combine(fail_by_type("email"), fail_every_nth_attempt(2))
    jobs = [job(t, a) for t in ("email", "report") for a in (1, 2, 3)]
    assert [policy(j) for j in jobs] == [policy(j) for j in jobs]
    assert repr(fail_by_type("email")).startswith("FailByType(types=('email',)")
    assert "0x" not in repr(policy)


@pytest.mark.parametrize(
    ("factory", "arg", "error"),
    [
        (fail_every_nth_attempt, 0, ValueError),
        (fail_every_nth_attempt, 1.5, TypeError),
        (fail_until_attempt, True, TypeError),
        (fail_on_payload, "", ValueError),
    ],
)
def test_policy_factories_refuse_bad_arguments(factory, arg, error):
    with pytest.raises(error):
        factory(arg)


def test_fail_by_type_needs_type_names():
    with pytest.raises(ValueError, match="one or more job type names"):
        fail_by_type()
    with pytest.raises(TypeError, match="job type must be a str, got int"):
        fail_by_type("email", 3)
    with pytest.raises(ValueError, match="job type must not be empty"):
        fail_by_type("")
    with pytest.raises(TypeError, match="each policy must be callable with a job, got str"):
        combine("email")


def test_simulated_work_raises_the_policy_message():
    handler = simulated_work(fail=fail_by_type("email"))
    with pytest.raises(SimulatedFailure, match="email jobs always fail"):
        handler(job("email"))
    assert handler(job("report")) is None


def test_simulated_work_refuses_bad_arguments():
    with pytest.raises(ValueError, match="seconds must be a number from 0 to 3600"):
        simulated_work(-1)
    with pytest.raises(ValueError, match="seconds must be a number from 0 to 3600"):
        simulated_work(float("inf"))
    with pytest.raises(TypeError, match="seconds must be a number, got str"):
        simulated_work("1")
    with pytest.raises(TypeError, match="failure policy"):
        simulated_work(fail="email")


def test_simulated_work_ends_early_when_its_worker_is_asked_to_stop():
    stop = threading.Event()
    outcome = []

    def run_as_worker():
        _current.stop = stop
        try:
            simulated_work(seconds=60)(job())
        except WorkInterrupted as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=run_as_worker)
    thread.start()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert outcome == ["stopped before the work finished: the worker pool shut down"]
