"""Worker processes: the same workers and sweeper, each in a process of its own, sharing only a
store outside any one process (SQLite or PostgreSQL).

* ``serve``: what ``python -m jobqueue_lab worker`` and ``... sweeper`` run;
* ``workers``: ``ProcessWorkers``, which starts, lists, kills and stops them from a notebook;
* ``handlers``: handlers a worker process can import by name (``module:function``).
"""

from .workers import ProcessWorkers

__all__ = ["ProcessWorkers"]
