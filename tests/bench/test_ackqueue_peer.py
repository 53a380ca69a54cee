"""The SQLiteAckQueue peer hands each item to one worker process at a time.

persist-queue guards ``get()`` only inside one process; the bench's worker processes take that
step under a file lock. Without it, four processes took some items twice in every run tried, and
the peer's own count (each process's runs against the runs its items record) refused the run.
So the check here is that the count never refuses, over repeated runs on both workloads.
"""

import pytest

pytest.importorskip("persistqueue")

from bench.peers import ackqueue_processes

REPEATS = 3


@pytest.mark.parametrize("failing", [False, True], ids=["no-op", "half failing"])
def test_four_worker_processes_never_take_an_item_twice(failing):
    for _ in range(REPEATS):
        measured = ackqueue_processes.run(jobs=200, processes=4, failing=failing)
        assert measured.count == (400 if failing else 200)
