"""Opening a store from a URL: one string names where the jobs live, so a notebook, a worker
process and a sweeper given the same URL share the same jobs.

* ``memory://``: an ``InMemoryJobStore``, private to this process;
* ``sqlite:///jobs.db`` (relative to the working folder) or ``sqlite:////tmp/jobs.db``
  (an absolute path: the fourth slash starts it);
* ``postgresql://user@host:5432/dbname`` (``postgres://`` too), passed to psycopg as it is.

A URL may hold a password (``postgresql://user:secret@host/db``), so no message or repr ever
shows a URL as it is: they show ``redacted(url)``.
"""

from __future__ import annotations

import re
from typing import Any

from .contract import JobStore
from .memory import InMemoryJobStore

SCHEMES = ("memory://", "sqlite:///", "postgresql://", "postgres://")

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):\S*@")  # scheme://user:password@host: to the last @
_DSN_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


def open_store(url: str, **options: Any) -> JobStore:
    """The store the URL names, made with ``options`` (``lease_seconds``, ``backoff``, ...).

    The SQL stores hold connections: close them with ``close()``, or use them in a ``with``.
    """
    if check_url(url) == "memory://":
        return InMemoryJobStore(**options)
    if url.startswith("sqlite:///"):
        from .sqlite import SQLiteJobStore

        return SQLiteJobStore(url[len("sqlite:///") :], **options)
    from .postgres import PostgresJobStore

    return PostgresJobStore(url, **options)


def check_url(url: object) -> str:
    """A store URL ``open_store`` can open, or a ``TypeError``/``ValueError`` saying why not:
    its scheme is known, a SQLite URL names a file, a PostgreSQL URL parses. (Whether the file
    or the server can be reached, only opening the store can tell.)"""
    if not isinstance(url, str):
        raise TypeError(f"a store URL must be a str, got {type(url).__name__}")
    if url == "memory://":
        return url
    if url.startswith("sqlite:///"):
        if url[len("sqlite:///") :].strip() in ("", ":memory:"):
            raise ValueError(f"store URL {url!r} names no file: write sqlite:///PATH")
        return url
    if url.startswith(("postgresql://", "postgres://")):
        _check_postgres_url(url)
        return url
    raise ValueError(
        f"unknown store URL {redacted(url)!r}: it must start with one of {', '.join(SCHEMES)}"
    )


def check_shared_url(url: object) -> str:
    """A store URL that processes can share (SQLite or PostgreSQL), checked as ``check_url``
    checks it: what a worker process needs."""
    if check_url(url) == "memory://":
        raise ValueError(
            f"the store URL must name a store that processes share (sqlite:///... or "
            f"postgresql://...), got {url!r}"
        )
    return url


def _check_postgres_url(url: str) -> None:
    """Let libpq, which will read the URL, parse it now (when psycopg is installed)."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # opening the store will say that psycopg is missing
        return
    try:
        conninfo_to_dict(url)
    except psycopg.Error as exc:
        message = redacted(str(exc))
        raise ValueError(f"store URL {redacted(url)!r} does not parse: {message}") from None


def redacted(text: str) -> str:
    """``text`` with the password of every store URL or DSN in it replaced by ``***``:
    ``postgresql://user:***@host/db``, ``host=db password=***``. What messages show."""
    return _DSN_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))
