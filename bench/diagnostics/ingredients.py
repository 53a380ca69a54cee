"""What the ingredients of a job's bookkeeping cost in plain Python, one call at a time.

The breakdown says the store's create, claim and complete cost a few microseconds each. These
are the everyday operations such steps are made of, timed alone with ``timeit``, so a reader
can see which lessons cost what: an immutable snapshot is a frozen dataclass built anew,
an audit entry is a record appended, atomicity is a lock taken and released.
"""

from __future__ import annotations

import enum
import threading
import time
import timeit
from dataclasses import dataclass
from datetime import UTC, datetime, timezone


class Status(enum.Enum):
    PENDING = "pending"


PENDING = Status.PENDING


@dataclass(frozen=True)
class Snapshot:
    """A stand-in with the shape of a job snapshot: eight fields, frozen."""

    id: str
    type: str
    status: Status
    payload: object
    max_retries: int
    attempts: int
    last_error: str | None
    created_at: datetime


NOW = datetime.now(UTC)
LOCK = threading.Lock()
LOG: list[tuple[float, str, Status, Status]] = []

STATEMENTS = {
    "take and release a threading.Lock": "with LOCK: pass",
    "build a frozen 8-field dataclass, by keyword": (
        "Snapshot(id='job-1', type='t', status=PENDING, payload=None, max_retries=3,"
        " attempts=0, last_error=None, created_at=NOW)"
    ),
    "build it positionally": "Snapshot('job-1', 't', PENDING, None, 3, 0, None, NOW)",
    "append an audit tuple to a list": "LOG.append((1.0, 'job-1', PENDING, PENDING))",
    "read the time as an aware datetime": "datetime.now(timezone.utc)",
    "read time.monotonic()": "time.monotonic()",
    "name the current thread": "threading.current_thread().name",
    "look up Status.PENDING (class attribute)": "Status.PENDING",
    "look up PENDING (module global)": "PENDING",
}


def nanoseconds(calls: int) -> dict[str, float]:
    """Nanoseconds per call of each ingredient: the fastest of five timings of ``calls`` calls
    (slower repeats measure the machine's other work, as ``timeit`` advises)."""
    names = {
        "LOCK": LOCK,
        "LOG": LOG,
        "NOW": NOW,
        "PENDING": PENDING,
        "Snapshot": Snapshot,
        "Status": Status,
        "datetime": datetime,
        "threading": threading,
        "time": time,
        "timezone": timezone,
    }
    empty = min(timeit.repeat("pass", number=calls, repeat=5))
    found = {}
    for label, statement in STATEMENTS.items():
        best = min(timeit.repeat(statement, number=calls, repeat=5, globals=names))
        LOG.clear()
        found[label] = max(best - empty, 0.0) / calls * 1e9
    return found
