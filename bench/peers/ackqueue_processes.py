"""persist-queue's ``SQLiteAckQueue`` worked by worker processes, at the same durability as
``SQLiteJobStore``.

``SQLiteAckQueue`` is a queue in one SQLite file whose items are acknowledged: ``get()`` marks an
item taken (``unack``) rather than deleting it, and the worker then acks it, puts it back
(``nack``) or marks it failed (``ack_failed``). An item a crashed worker held stays ``unack``
and is made ready again when the queue is next opened with ``auto_resume``: at least once, as
jobqueue_lab's leases are, which Huey's delete-on-take is not.

Two things persist-queue leaves to its user when several processes share one queue file, and
this module does: ``get()`` reads the next ready item and marks it taken in two statements,
guarded by a lock inside the process only, so each worker process takes that step under an
exclusive file lock (``fcntl.flock``), or two processes could take the same item; and a worker
opens the queue with ``auto_resume=False``, or opening it would hand back the items other
workers hold. persist-queue opens SQLite in WAL mode; ``synchronous=FULL`` is set on its
connection and checked, as for Huey.

It counts no attempts, so the payload does: a failing item is rewritten with its run count
(``update``) and put back until its third run, then marked failed. Each worker process also
counts the runs it made and leaves the count in a file as it stops, so a run in which two
processes took one item is refused. An idle worker looks for work every 10 ms (persist-queue's
own wait is a signal inside one process).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from persistqueue import SQLiteAckQueue
from persistqueue.exceptions import Empty

from ..harness.gated import GatedWorkers, ready_then_wait, settled_after
from ..harness.jobs import (
    RUNS_PER_JOB,
    SETTLED_POLL,
    TIMEOUT,
    BenchmarkError,
    check_outcome,
    job_fails,
)
from ..harness.timing import Measured, Section

IDLE_POLL = 0.01
ACKED, ACK_FAILED = 5, 9
"""persist-queue's ``AckStatus`` values for a finished item."""

UNSETTLED = f"SELECT EXISTS (SELECT 1 FROM ack_queue_default WHERE status < {ACKED})"


def open_queue(folder: str, *, auto_resume: bool = True) -> SQLiteAckQueue:
    """The queue in ``folder`` at ``synchronous=FULL``; refuses to go on at anything less."""
    queue = SQLiteAckQueue(folder, auto_resume=auto_resume)
    connection = queue._putter  # persist-queue has no setting for it; one connection per queue
    connection.execute("PRAGMA synchronous=FULL")
    (sync,) = connection.execute("PRAGMA synchronous").fetchone()
    (journal,) = connection.execute("PRAGMA journal_mode").fetchone()
    if (sync, journal) != (2, "wal"):
        raise BenchmarkError(f"SQLiteAckQueue runs at synchronous={sync}, journal_mode={journal}")
    return queue


def run(jobs: int, processes: int, failing: bool) -> Measured:
    """Put ``jobs`` items, half of them failing if ``failing`` (three runs each), and time
    ``processes`` worker processes from the gate opening to every item acked or failed."""
    with tempfile.TemporaryDirectory(prefix="bench-ackqueue-") as folder:
        queue = open_queue(folder)
        for number in range(jobs):
            queue.put({"fails": failing and job_fails(number), "runs": 0})
        commands = [["-m", "bench.peers.ackqueue_processes", folder] for _ in range(processes)]
        connection = queue._getter

        def settled() -> bool:
            (waiting,) = connection.execute(UNSETTLED).fetchone()
            return not waiting

        with GatedWorkers(commands) as workers, Section() as section:
            workers.open()
            done = settled_after(settled, SETTLED_POLL, TIMEOUT)
            if not done or not workers.alive():
                raise BenchmarkError(f"{jobs} items not settled in {TIMEOUT}s:\n{workers.logs()}")
        items = queue.queue()
        queue.close()
        runs = sum(int(path.read_text()) for path in Path(folder).glob("runs-*.txt"))
    completed = sum(item["status"] == ACKED for item in items)
    recorded = completed + sum(
        item["data"]["runs"] for item in items if item["status"] == ACK_FAILED
    )
    if recorded != runs:
        raise BenchmarkError(f"the workers made {runs} runs, the items record {recorded}")
    check_outcome(jobs, completed, runs, failing=failing)
    return section.measured(runs)


def work(fails: bool) -> None:
    if fails:
        raise RuntimeError("flaky jobs always fail")


@contextmanager
def taking_turns(lock_file: Path):
    """Hold an exclusive lock on ``lock_file`` that every worker process takes to ``get()``."""
    with open(lock_file, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def worker(folder: str) -> None:
    """One worker process: open the queue, wait at the gate, work until SIGTERM."""
    logging.getLogger("persistqueue").setLevel(logging.CRITICAL)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    queue = open_queue(folder, auto_resume=False)
    lock_file = Path(folder) / "get.lock"
    runs = 0
    ready_then_wait()
    while not stop.is_set():
        try:
            with taking_turns(lock_file):
                item = queue.get(block=False, raw=True)
        except Empty:
            stop.wait(IDLE_POLL)
            continue
        job, key = item["data"], item["pqid"]
        runs += 1
        try:
            work(job["fails"])
        except RuntimeError:
            job["runs"] += 1
            queue.update(job, id=key)
            if job["runs"] < RUNS_PER_JOB:
                queue.nack(id=key)
            else:
                queue.ack_failed(id=key)
        else:
            queue.ack(id=key)
    queue.close()
    (Path(folder) / f"runs-{os.getpid()}.txt").write_text(str(runs))


if __name__ == "__main__":
    worker(sys.argv[1])
