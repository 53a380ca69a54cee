"""A throwaway PostgreSQL server for the process benchmarks, started as the tests start theirs.

The tests' helper (``tests.postgres_server``) makes a cluster with ``initdb`` and ``pg_ctl`` in a
temporary folder, listening only on a unix socket there, as an unprivileged user when run as
root. The tests run it with ``fsync`` off; here it keeps PostgreSQL's durable defaults
(``fsync``, ``synchronous_commit`` and ``full_page_writes`` on), so every commit either system
makes is on disk before it returns, as with SQLite at ``synchronous=FULL``.

Each measured run works in a schema of its own on that one server, made empty for it and
dropped after it (``fresh_schema``), so every run of either system starts from empty tables.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from tests.postgres_server import SETTINGS, PostgresServer, find_binaries, missing_reason

DURABLE = {**SETTINGS, "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}

__all__ = ["DurableServer", "analyze", "find_binaries", "fresh_schema", "missing_reason"]


class DurableServer(PostgresServer):
    """The tests' throwaway server with PostgreSQL's durable defaults."""

    settings = DURABLE


_schema_numbers = itertools.count(1)


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """A URL for the server at ``server_url`` whose search path starts in a new, empty schema
    named after this process (and numbered, for a process that wants more than one); the
    schema and everything in it is dropped afterwards."""
    import psycopg

    name = f"bench_{os.getpid()}_{next(_schema_numbers)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in server_url else "?"
    try:
        yield server_url + separator + "options=" + quote(f"-c search_path={name}", safe="")
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


def analyze(url: str) -> None:
    """Refresh the planner's statistics for every table in the schema ``url`` works in, as
    autovacuum would soon after a big insert. Measured straight after filling, a table the
    planner still thinks empty gets plans no deployment would run for long: a sort of every
    waiting job, say, where an index would do."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        for (table,) in tables:
            db.execute(f'ANALYZE "{table}"')
