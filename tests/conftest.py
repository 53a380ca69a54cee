"""Fixtures shared by the tests, and the notebook timings in the test run's summary."""

import time
from pathlib import Path

import pytest

from jobqueue_lab import ManualClock
from tests.postgres_server import throwaway_server
from tests.steps import START
from tests.store_factory import SQL_KINDS, STORE_KINDS, StoreFactory

TIMES = Path(__file__).resolve().parents[1] / "test-artifacts" / "notebook-times.txt"
_started = time.time()


def pytest_terminal_summary(terminalreporter):
    if TIMES.exists() and TIMES.stat().st_mtime >= _started:
        terminalreporter.section("notebook execution times (nbval, fresh kernel each)")
        terminalreporter.write(TIMES.read_text())


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the whole run; skips where none can be started."""
    yield from throwaway_server()


def _kinds(kinds):
    return [pytest.param(kind, marks=getattr(pytest.mark, kind)) for kind in kinds]


def _factory(request, tmp_path):
    server = request.getfixturevalue("postgres_server") if request.param == "postgres" else None
    return StoreFactory(request.param, tmp_path, server)


@pytest.fixture(params=_kinds(STORE_KINDS))
def make_store(request, tmp_path):
    """Makes fresh stores of one kind; a test that takes it runs once for every kind of store."""
    factory = _factory(request, tmp_path)
    yield factory
    factory.close_all()


@pytest.fixture(params=_kinds(SQL_KINDS))
def make_sql_store(request, tmp_path):
    """``make_store`` for the stores that several processes can share."""
    factory = _factory(request, tmp_path)
    yield factory
    factory.close_all()


@pytest.fixture
def new_store(make_store):
    """Fresh stores of one kind on a ``ManualClock`` (``store, clock = new_store()``): with
    ``make_store``, each test that takes it runs against every store."""

    def new(**options):
        clock = ManualClock(START)
        return make_store(clock=clock, **options), clock

    return new
