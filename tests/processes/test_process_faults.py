"""Worker processes when something goes wrong around them: a pool started from a thread that
ends.

Real processes and real signals throughout; every wait has a deadline.
"""

from __future__ import annotations

import pytest

from jobqueue_lab import COMPLETED
from jobqueue_lab.processes.workers import ProcessWorkers
from tests.processes.test_worker_processes import DEADLINE, wait_for_runs
from tests.support import run_with_deadline, wait_for

pytestmark = pytest.mark.processes

# --- a pool started from a thread ------------------------------------------------------------


def test_workers_started_from_a_thread_that_ends_keep_running(make_sql_store, tmp_path):
    store = make_sql_store()
    url = make_sql_store.url(store)
    store.create_job("first", {"runs": str(tmp_path / "runs")})
    started = []

    def start_workers_and_see_them_run_a_job():
        started.append(ProcessWorkers(url, processes=1, sweeper_interval=None).start())
        wait_for_runs(tmp_path, 1)  # the process is up and has set itself to follow its parent

    run_with_deadline(start_workers_and_see_them_run_a_job, timeout=DEADLINE)
    [workers] = started
    try:
        later = store.create_job("later")
        assert wait_for(lambda: store.get_job(later.id).status is COMPLETED, timeout=DEADLINE)
        assert [process.running for process in workers.processes()] == [True]
    finally:
        assert workers.stop()
