"""Opening a store from a URL: one string names where the jobs live, so a notebook, a worker
process and a sweeper given the same URL share the same jobs.

* ``memory://``: an ``InMemoryJobStore``, private to this process;
* ``sqlite:///jobs.db`` (relative to the working folder) or ``sqlite:////tmp/jobs.db``
  (an absolute path: the fourth slash starts it);
* ``postgresql://user@host:5432/dbname`` (``postgres://`` too), passed to psycopg as it is.
"""

from __future__ import annotations

from typing import Any

from .contract import JobStore
from .memory import InMemoryJobStore

SCHEMES = ("memory://", "sqlite:///", "postgresql://", "postgres://")


def open_store(url: str, **options: Any) -> JobStore:
    """The store the URL names, made with ``options`` (``lease_seconds``, ``backoff``, ...).

    The SQL stores hold connections: close them with ``close()``, or use them in a ``with``.
    """
    if not isinstance(url, str):
        raise TypeError(f"a store URL must be a str, got {type(url).__name__}")
    if url == "memory://":
        return InMemoryJobStore(**options)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        from .sqlite import SQLiteJobStore

        return SQLiteJobStore(url[len("sqlite:///") :], **options)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresJobStore

        return PostgresJobStore(url, **options)
    raise ValueError(f"unknown store URL {url!r}: it must start with one of {', '.join(SCHEMES)}")


def is_shared(url: str) -> bool:
    """True when stores opened from ``url`` in different processes see the same jobs."""
    return isinstance(url, str) and url.startswith(SCHEMES[1:])
