"""The manual clock: a store's time that moves only when a lesson or a test moves it."""

import pytest

from jobqueue_lab import InMemoryJobStore, ManualClock


def test_a_manual_clock_stands_still_until_advanced():
    clock = ManualClock(start=5)
    assert clock() == clock() == 5.0
    assert clock.advance(2.5) == 7.5
    assert clock() == 7.5
    assert repr(clock) == "ManualClock(at 7.5 s)"


@pytest.mark.parametrize(("seconds", "error"), [(-1, ValueError), ("1", TypeError)])
def test_a_manual_clock_only_moves_forward(seconds, error):
    with pytest.raises(error, match="seconds must be a number"):
        ManualClock().advance(seconds)


def test_a_lease_runs_out_when_the_clock_is_moved_past_it():
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=30)
    job = store.claim_job(store.create_job("t").id, actor="worker-3")
    assert job.lease_expires_at == 30.0
    clock.advance(30)
    [recovered] = store.recover_expired_leases()
    assert recovered.last_error == "lease expired after 30.0 s: worker-3 lost or stuck on attempt 1"
