"""The audit log: every change anyone asked the store for, accepted or refused, in order.

The log is the course's independent witness. Tables, charts and the invariant checker read it
to show what really happened, so it records refusals too, not only the changes that went in.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from .domain import JobStatus


@dataclass(frozen=True, slots=True)
class Transition:
    """One attempted change of one job.

    ``at`` is seconds since the store was made. ``from_status`` is ``None`` for the creation of
    a job. ``detail`` is the error the change carried, or the reason it was refused.
    """

    at: float
    job_id: str
    from_status: JobStatus | None
    to_status: JobStatus
    accepted: bool
    actor: str
    detail: str | None = None


_STATUS_BY_CODE: tuple[JobStatus | None, ...] = (None, *JobStatus)
_CODE_BY_STATUS = {status: code for code, status in enumerate(_STATUS_BY_CODE)}


class AuditLog:
    """An append-only list of ``Transition`` records, stored compactly.

    A run of a million jobs writes three million entries, so each field is kept in its own
    column (a float array for times, one byte per status) instead of one object per entry:
    measured, that is about a quarter of the memory. ``entries()`` rebuilds ordinary
    ``Transition`` objects for readers. The log is not locked itself: the store only writes it
    while holding its own lock.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._at = array("d")
        self._job_ids: list[str] = []
        self._from = bytearray()
        self._to = bytearray()
        self._accepted = bytearray()
        self._actors: list[str] = []
        self._details: list[str | None] = []

    def __len__(self) -> int:
        return len(self._job_ids)

    def record(
        self,
        job_id: str,
        from_status: JobStatus | None,
        to_status: JobStatus,
        *,
        accepted: bool,
        actor: str,
        detail: str | None = None,
    ) -> None:
        """Append one entry, stamped with the time since the log was made."""
        self._at.append(self._clock() - self._started)
        self._job_ids.append(job_id)
        self._from.append(_CODE_BY_STATUS[from_status])
        self._to.append(_CODE_BY_STATUS[to_status])
        self._accepted.append(accepted)
        self._actors.append(actor)
        self._details.append(detail)

    def entries(self, start: int = 0) -> list[Transition]:
        """Every entry from position ``start`` on, oldest first."""
        return [
            Transition(
                at=self._at[i],
                job_id=self._job_ids[i],
                from_status=_STATUS_BY_CODE[self._from[i]],
                to_status=_STATUS_BY_CODE[self._to[i]],
                accepted=bool(self._accepted[i]),
                actor=self._actors[i],
                detail=self._details[i],
            )
            for i in range(start, len(self._job_ids))
        ]
