"""Where jobs live: the one contract every store keeps, and the stores that keep it.

* ``contract``: ``JobStore``, the promises, and every write written once in four steps
  (hold the store, read and decide, save and record, return or raise);
* ``memory``: ``InMemoryJobStore``, a dict behind a lock, for one process; ``store_lock``, that
  lock (a ``threading.RLock`` that never forms a convoy, written for speed);
* ``sql``, ``statements``, ``sqlite``, ``postgres``: the same contract in a database that
  worker processes share, one transaction per change; ``schema`` makes a database the store's
  (or refuses it), ``rows`` turns the tables' rows into snapshots and back;
* ``urls``: ``open_store``, one string naming where the jobs live.
"""

from .contract import JobStore
from .memory import InMemoryJobStore, sequential_ids
from .postgres import PostgresJobStore
from .sqlite import SQLiteJobStore
from .urls import open_store

__all__ = [
    "InMemoryJobStore",
    "JobStore",
    "PostgresJobStore",
    "SQLiteJobStore",
    "open_store",
    "sequential_ids",
]
