"""The backoff policies on their own: the delay each one asks for after a failed attempt, the
jitter that spreads them, and the arguments they refuse. (How a store records and honours the
delay is in ``contract/test_backoff_and_requeue.py``.)"""

import os
import subprocess
import sys

import pytest

from jobqueue_lab import InMemoryJobStore, constant, exponential, no_delay
from jobqueue_lab.backoff import MAX_DELAY
from tests.steps import failed_on


def test_no_delay_and_constant_policies():
    assert [no_delay()(failed_on(n)) for n in (1, 2, 9)] == [0.0, 0.0, 0.0]
    assert [constant(2.5)(failed_on(n)) for n in (1, 2, 9)] == [2.5, 2.5, 2.5]


def test_exponential_grows_by_its_factor_up_to_its_cap():
    policy = exponential(base=1.0, factor=2.0, cap=10.0)
    assert [policy(failed_on(n)) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert exponential(base=0.5, factor=3.0, cap=100)(failed_on(3)) == 4.5
    assert policy(failed_on(10**6)) == 10.0, "a huge attempt number asks for the cap, no overflow"


def test_jitter_stays_within_its_spread_and_differs_across_jobs_and_attempts():
    policy = exponential(base=4.0, factor=1.0, cap=4.0, jitter=0.25)
    delays = {
        (n, attempt): policy(failed_on(attempt, f"job-{n:03d}"))
        for n in range(1, 11)
        for attempt in range(1, 4)
    }
    assert all(3.0 <= d <= 5.0 for d in delays.values())
    assert len(set(delays.values())) == len(delays), "every job and attempt gets its own spread"
    again = exponential(base=4.0, factor=1.0, cap=4.0, jitter=0.25)
    assert {key: again(failed_on(key[1], f"job-{key[0]:03d}")) for key in delays} == delays


def test_jitter_is_the_same_in_every_run():
    code = (
        "from jobqueue_lab import Job, JobStatus, exponential\n"
        "p = exponential(base=1.0, factor=2.0, cap=60.0, jitter=0.5)\n"
        "print([p(Job(f'job-{n:03d}', 't', JobStatus.PROCESSING, attempts=a, claim=a))"
        " for n in (1, 2, 3) for a in (1, 2, 3)])\n"
    )
    policy = exponential(base=1.0, factor=2.0, cap=60.0, jitter=0.5)
    here = [policy(failed_on(a, f"job-{n:03d}")) for n in (1, 2, 3) for a in (1, 2, 3)]
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == repr(here)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: constant(-1), ValueError),
        (lambda: constant(float("nan")), ValueError),
        (lambda: constant(MAX_DELAY + 1), ValueError),
        (lambda: constant("5"), TypeError),
        (lambda: constant(True), TypeError),
        (lambda: exponential(base=-1), ValueError),
        (lambda: exponential(factor=0.5), ValueError),
        (lambda: exponential(cap=float("inf")), ValueError),
        (lambda: exponential(jitter=1.5), ValueError),
        (lambda: exponential(jitter=-0.1), ValueError),
        (lambda: exponential(base="1"), TypeError),
        (lambda: exponential(factor=None), TypeError),
    ],
)
def test_bad_backoff_arguments_are_refused_with_typed_errors(make, error):
    with pytest.raises(error):
        make()


def test_a_store_refuses_a_backoff_that_is_not_callable():
    with pytest.raises(TypeError, match="backoff"):
        InMemoryJobStore(backoff=5)
