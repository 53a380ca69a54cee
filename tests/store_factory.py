"""One way to make each kind of store, so that one contract suite runs against all of them.

A test that takes the ``make_store`` fixture (see ``conftest.py``) runs once per kind of store:
``make_store()`` gives a fresh, empty store of that kind, and takes the options every store
takes (``clock``, ``lease_seconds``, ``backoff``). ``make_store.reopen(store)`` opens a second
store object on the same database, as another process would.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from jobqueue_lab import InMemoryJobStore
from jobqueue_lab.stores.postgres import PostgresJobStore
from jobqueue_lab.stores.sqlite import SQLiteJobStore
from tests.postgres_server import PostgresServer

STORE_KINDS = ("memory", "sqlite", "postgres")
SQL_KINDS = ("sqlite", "postgres")


class StoreFactory:
    """Fresh stores of one kind; every store it made is closed by ``close_all``."""

    def __init__(self, kind: str, folder: Path, postgres: PostgresServer | None = None) -> None:
        self.kind = kind
        self._folder = folder
        self._postgres = postgres
        self._numbers = itertools.count(1)
        self._made: list[Any] = []
        self._where: dict[int, Any] = {}

    def __call__(self, **options: Any) -> Any:
        if self.kind == "memory":
            return InMemoryJobStore(**options)
        if self.kind == "sqlite":
            where: Any = self._folder / f"store-{next(self._numbers)}.db"
        else:
            assert self._postgres is not None
            where = self._postgres.new_schema()
        store = self._open(where, **options)
        self._where[id(store)] = where
        return store

    def reopen(self, store: Any, **options: Any) -> Any:
        """Another store object on ``store``'s database (SQL stores only)."""
        return self._open(self._where[id(store)], **options)

    def url(self, store: Any) -> str:
        """The URL that ``open_store`` and worker processes use for ``store``'s database."""
        where = self._where[id(store)]
        return f"sqlite:///{where}" if self.kind == "sqlite" else where

    def close_all(self) -> None:
        for store in self._made:
            store.close()

    def _open(self, where: Any, **options: Any) -> Any:
        kind = SQLiteJobStore if self.kind == "sqlite" else PostgresJobStore
        store = kind(where, **options)
        self._made.append(store)
        return store
