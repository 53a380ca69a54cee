"""Mistake 2: the worker reports that a job failed, but not why."""

from __future__ import annotations

from ..domain import COMPLETED, FAILED, Job
from ..worker import Worker


class ForgetfulWorker(Worker):
    """Mistake 2: it reports that a job failed, but not why, so ``last_error`` stays ``None``.

    A store that does not insist (``PlainStore``, like the chapter's store) records a failure
    that explains nothing. ``InMemoryJobStore`` refuses such a report with ``ValueError``.
    Correct counterpart: ``Worker``, which sends ``describe_failure(exc)`` with every failure.
    """

    def process(self, job: Job) -> None:
        try:
            self._handler(job)
        except Exception:
            self._store.update_status(job.id, FAILED)  # the reason is dropped here
        else:
            self._store.update_status(job.id, COMPLETED)
