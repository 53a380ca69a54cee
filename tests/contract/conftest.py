"""The contract's own fixture: a ``ManualClock`` for tests that build stores with ``make_store``."""

import pytest

from jobqueue_lab import ManualClock
from tests.steps import START


@pytest.fixture
def clock():
    return ManualClock(START)
