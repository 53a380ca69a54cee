"""Does a claim and its report slow down as finished jobs pile up in a durable store?

Two stores in one database, one holding ``small`` finished (completed) jobs and one holding
``large``, filled with one bulk ``INSERT`` straight in SQL (the store's API would take an hour
for a million), then, on PostgreSQL, analysed as autovacuum would soon do. Each repeat puts
``cycles`` new jobs in each store and times ``claim_next()`` and ``update_status(...,
COMPLETED)`` one job after another, in each store in turn (the order rotating), on one thread:
the seconds a cycle takes, every commit durable. Only the jobs table is filled; the audit log
is not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

from jobqueue_lab import JobStatus
from jobqueue_lab.stores.contract import JobStore
from jobqueue_lab.stores.urls import open_store

from ..harness.interleave import rotated
from ..harness.postgres import analyze
from ..harness.timing import seconds
from .store_processes import fresh_store

FINISHED_ROWS = """
    INSERT INTO jobs (type, status, payload, max_retries, attempts, created_at, claim,
                      claimed_by, permanent, queue_position)
    SELECT 'bench', 'completed', '{{}}', 3, 1, n, 1, 'filler', FALSE, n FROM {numbers}"""
SQLITE_NUMBERS = (
    "(WITH RECURSIVE counted(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counted WHERE n < ?) "
    "SELECT n FROM counted)"
)
POSTGRES_NUMBERS = "generate_series(1, %s) AS n"


def run(database: str, small: int, large: int, cycles: int, repeats: int) -> dict[str, list]:
    """Seconds per claim+complete cycle in each store, one figure per repeat:
    ``{"small": [...], "large": [...]}``."""
    with ExitStack() as stack:
        stores = {}
        for name, finished in (("small", small), ("large", large)):
            url = stack.enter_context(fresh_store(database))
            stores[name] = stack.enter_context(open_store(url))
            fill(url, finished)
        results: dict[str, list] = {name: [] for name in stores}
        for repeat in range(repeats):
            for name in rotated(list(stores), repeat):
                results[name].append(cycle_seconds(stores[name], cycles))
    return results


def cycle_seconds(store: JobStore, cycles: int) -> float:
    """Seconds per claim+complete, over ``cycles`` jobs put in first."""
    for _ in range(cycles):
        store.create_job("bench", {}, max_retries=3)

    def claim_and_finish() -> None:
        for _ in range(cycles):
            job = store.claim_next()
            store.update_status(job.id, JobStatus.COMPLETED, claim=job.claim)

    return seconds(claim_and_finish) / cycles


def fill(url: str, finished: int) -> None:
    """Put ``finished`` completed jobs into the store at ``url`` in one statement."""
    if url.startswith("sqlite:"):
        with _sqlite(url) as db:
            db.execute(FINISHED_ROWS.format(numbers=SQLITE_NUMBERS), (finished,))
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(FINISHED_ROWS.format(numbers=POSTGRES_NUMBERS), (finished,))
    analyze(url)


@contextmanager
def _sqlite(url: str) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(urlsplit(url).path)
    try:
        with connection:
            yield connection
    finally:
        connection.close()
