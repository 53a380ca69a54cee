"""Where the time goes in the PostgreSQL process rows:
``python -m bench.diagnostics.process_profile``.

The ratios say which system is faster; this says why. It runs the no-op workload of each system
at 1, 2 and 4 worker processes on a durable throwaway server with ``pg_stat_statements`` loaded,
and reports per job, counted only while the workers run (from the gate opening to all settled):

* **statements**: what the worker processes sent, each a round trip to the server, leaving out
  ``BEGIN`` and ``COMMIT`` (one each per transaction): psycopg prepares a statement it sends
  often, and ``pg_stat_statements`` does not count a prepared ``BEGIN`` or ``COMMIT``. (Since
  the store sends its audit entries and ``COMMIT`` in one pipeline, its round trips are fewer
  than its statements: see ``PostgresJobStore._append_and_commit``.)
* **what the worker sessions waited for**: ``pg_stat_activity`` sampled every 2 ms, the share
  of samples in which a worker session waited for a lock, for the WAL to be flushed, for its
  client (a round trip, or Python deciding), or was running.

It is slower than the bench and disturbs what it measures a little (the sampling is a query
too), so its rates are not the bench's: read the counts and the shares.
"""

from __future__ import annotations

import argparse
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from ..harness.postgres import DurableServer
from ..ours import store_processes
from ..peers import procrastinate_processes

SAMPLE_EVERY = 0.002
PROFILED = {**DurableServer.settings, "shared_preload_libraries": "pg_stat_statements"}

OWN_QUERIES = ("pg_stat_activity", "pg_stat_statements", "WHERE status IN")
"""Statements that the profiler and the settled-check send, left out of the counts."""
UNCOUNTED = ("BEGIN", "COMMIT", "ROLLBACK")

STATEMENTS = "SELECT query, calls FROM pg_stat_statements"
WAITS = """
    SELECT state, wait_event_type, wait_event FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND application_name <> 'bench-observer' AND query NOT LIKE '%WHERE status IN%'"""


class ProfiledServer(DurableServer):
    settings = PROFILED


@dataclass
class Observed:
    statements: Counter = field(default_factory=Counter)
    waits: Counter = field(default_factory=Counter)


def observer(server_url: str, seen: Observed) -> Callable[[], Iterator[None]]:
    """A ``watch`` for the run functions: counts from the gate opening to every job settled."""

    @contextmanager
    def watch() -> Iterator[None]:
        url = server_url + "&application_name=bench-observer"
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SELECT pg_stat_statements_reset()")
            stop = threading.Event()
            sampler = threading.Thread(target=_sample, args=(url, stop, seen.waits))
            sampler.start()
            try:
                yield
            finally:
                stop.set()
                sampler.join()
                for query, calls in db.execute(STATEMENTS).fetchall():
                    own = any(mark in query for mark in OWN_QUERIES)
                    if not own and query.strip() not in UNCOUNTED:
                        seen.statements[_kind(query)] += calls

    return watch


def _sample(url: str, stop: threading.Event, waits: Counter) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        while not stop.wait(SAMPLE_EVERY):
            for state, wait_type, wait_event in db.execute(WAITS).fetchall():
                if state == "idle":
                    waits["idle (between transactions)"] += 1
                elif wait_type == "Lock":
                    waits[f"lock: {wait_event}"] += 1
                elif wait_type in ("IO", "LWLock") and wait_event.startswith("WAL"):
                    waits["WAL flush"] += 1
                elif wait_type == "Client":
                    waits["client (round trip or Python), in a transaction"] += 1
                elif wait_type is None:
                    waits["running"] += 1
                else:
                    waits[f"{wait_type}: {wait_event}"] += 1


def _kind(query: str) -> str:
    words = query.split()
    return " ".join(words[:3]) if words else query


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.diagnostics.process_profile", description=__doc__
    )
    parser.add_argument("--jobs", type=int, default=1_000)
    args = parser.parse_args()
    server = ProfiledServer().start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as db:
            db.execute("CREATE EXTENSION pg_stat_statements")
        for name, module in (
            ("PostgresJobStore", store_processes),
            ("procrastinate", procrastinate_processes),
        ):
            for processes in (1, 2, 4):
                seen = Observed()
                watch = observer(server.dsn(), seen)
                measured = module.run(server.dsn(), args.jobs, processes, False, watch)
                _report(name, processes, args.jobs, measured.per_second, seen)
    finally:
        server.stop()


def _report(name: str, processes: int, jobs: int, rate: float, seen: Observed) -> None:
    statements = sum(seen.statements.values())
    print(
        f"\n{name}, {processes} process{'es' if processes > 1 else ''}: {rate:,.0f} jobs/s, "
        f"{statements / jobs:.1f} statements per job (BEGIN and COMMIT aside)"
    )
    for kind, calls in seen.statements.most_common():
        print(f"  {calls / jobs:5.2f} per job  {kind}")
    samples = sum(seen.waits.values())
    for what, count in seen.waits.most_common():
        print(f"  {100 * count / samples:5.1f}% of session samples: {what}")


if __name__ == "__main__":
    main()
