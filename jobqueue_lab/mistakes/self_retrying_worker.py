"""The worker retries by itself: a failed handler runs again at once, not later by the sweeper."""

from __future__ import annotations

from typing import Any

from ..domain import COMPLETED, FAILED, Job
from ..validation import check_int
from ..worker import Worker, describe_failure


class SelfRetryingWorker(Worker):
    """A worker that retries by itself: when the handler fails, it runs it again at once.

    There is no pause, no sweeper and no look at ``max_retries``: the store sees one attempt
    while the handler runs up to ``tries`` times in a burst, so the store's limit multiplies
    the runs instead of limiting them. (In the wild this loop is often ``while True``; ``tries``
    keeps the demo finite.) Correct counterpart: ``Worker``, which reports the failure once and
    leaves retrying to the ``Sweeper``, paced by its interval and bounded by the store.
    """

    def __init__(self, *args: Any, tries: int = 20, **kwargs: Any) -> None:
        self.tries = check_int(tries, "tries", minimum=1)
        super().__init__(*args, **kwargs)

    def process(self, job: Job) -> None:
        for _ in range(self.tries):
            try:
                self._handler(job)
            except Exception as exc:
                error = describe_failure(exc)
            else:
                self._store.update_status(job.id, COMPLETED)
                return
        self._store.update_status(job.id, FAILED, error)
