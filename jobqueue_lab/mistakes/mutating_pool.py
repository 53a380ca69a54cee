"""Mistake 1 at full size: the real ``WorkerPool`` running ``MutatingWorker``s, its race forced.

The pool is the real one with one class swapped (``worker_class``), on a ``LiveRecordStore``.
Left to chance, its race windows last microseconds and a run would almost always end looking
fine, so the pool holds one window open on every run (``ForcedCollision``). The evidence comes
from outside the store: the handler writes down every run it makes (``checks.RunLog``), and the
checker compares those runs with the records.
"""

from __future__ import annotations

import threading
from typing import Any

from ..checks import JobLike, RunLog, Violation, find_violations
from ..failures import simulated_work
from ..pool import WorkerPool
from ..validation import check_callable, check_int, check_number
from ..worker import Handler
from .mutating_worker import LiveRecordStore, MutatingWorker

MAX_RACE_TIMEOUT = 3600.0


class _FirstTwoMeet:
    """The first two callers of ``meet`` wait for each other; anyone later goes straight on.

    A wait ends after ``timeout`` seconds, or at once after ``cancel()``.
    """

    def __init__(self, timeout: float) -> None:
        self._seats = threading.Semaphore(2)
        self._barrier = threading.Barrier(2, timeout=timeout)

    def meet(self) -> bool:
        """True when two callers met here; False for a later caller, a timeout or a cancel."""
        if not self._seats.acquire(blocking=False):
            return False
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            return False
        return True

    def cancel(self) -> None:
        self._barrier.abort()


class ForcedCollision:
    """Mistake 1's race held open in a running pool: two workers check one job, and both run it.

    The first job any worker checks becomes ``job_id``. That worker is held at its race window
    (after its check, before its change) until a second worker has checked the same job. The
    second one comes, because the job is still pending, so the sweeper offers its id again as it
    offers every pending job. Then both change it and both run it, and each run of it waits
    until the other has started, so the two runs overlap.

    A hold ends after ``timeout`` seconds, or at once on ``release()``, and the worker carries
    on: a stopping pool never waits for a race that can no longer happen.
    """

    def __init__(self, handler: Handler, *, timeout: float) -> None:
        self.job_id: str | None = None
        self._handler = handler
        self._choosing = threading.Lock()
        self._both_checked = _FirstTwoMeet(timeout)
        self._both_running = _FirstTwoMeet(timeout)
        self._collided = threading.Event()

    def race_window(self, job: JobLike) -> None:
        """The workers' race-window hook: the first two checks of the chosen job meet here."""
        with self._choosing:
            if self.job_id is None:
                self.job_id = job.id
        if job.id == self.job_id and self._both_checked.meet():
            self._collided.set()

    def run_handler(self, job: JobLike) -> object:
        """The pool's handler: the two colliding runs of the chosen job start together."""
        if job.id == self.job_id and self._collided.is_set():
            self._both_running.meet()
        return self._handler(job)

    def release(self) -> None:
        """Let every held worker go on at once."""
        self._both_checked.cancel()
        self._both_running.cancel()


class MutatingWorkerPool(WorkerPool):
    """Mistake 1 at full size: the real ``WorkerPool``, its workers swapped for ``MutatingWorker``.

    The queue, the sweeper, ``submit``, ``wait`` and ``stop`` are the real pool's, on a
    ``LiveRecordStore``. A ``ForcedCollision`` makes two workers run one job at the same time
    on every run, so it takes two workers at least; a held worker waits ``race_timeout``
    seconds at most. ``handler_runs`` is the ``RunLog`` the handler writes, and ``damage()``
    the checker's verdict on the records and those runs: evidence the store cannot spoil.
    Correct counterpart: ``WorkerPool``.
    """

    worker_class = MutatingWorker

    def __init__(
        self, store: LiveRecordStore | None = None, *, race_timeout: float = 60.0, **options: Any
    ) -> None:
        """``store`` and ``options`` as for ``WorkerPool``, but ``workers`` is at least two."""
        if "workers" in options:
            check_int(options["workers"], "workers (a race needs two)", minimum=2)
        handler = options.pop("handler", None)
        handler = simulated_work() if handler is None else handler
        check_callable(handler, "handler", "with a job")
        timeout = check_number(race_timeout, "race_timeout", minimum=0, maximum=MAX_RACE_TIMEOUT)
        self.collision = ForcedCollision(handler, timeout=timeout)
        self.handler_runs = RunLog()
        watched = self.handler_runs.watch(self.collision.run_handler)
        super().__init__(LiveRecordStore() if store is None else store, handler=watched, **options)
        for worker in self.workers:  # the real pool builds them; the hook goes on each after
            worker.race_window = self.collision.race_window

    def stop(self) -> None:
        """Let go of a worker held for the race, then stop as the real pool does."""
        self.collision.release()
        super().stop()

    def damage(self) -> list[Violation]:
        """The rules the run broke, judged from the records and from what the handlers saw."""
        return find_violations(
            self.store.list_jobs(), handler_runs=self.handler_runs.runs, expect_settled=False
        )

    def runs_and_attempts(self) -> tuple[int, int]:
        """How many times the handlers ran, and how many attempts the records show: with no
        store deciding, the two drift apart."""
        runs = len(self.handler_runs.runs)
        return runs, sum(record.attempts for record in self.store.list_jobs())

    def damage_report(self) -> str:
        """The damage in a few lines of text: handler runs against recorded attempts, then
        every rule broken."""
        runs, attempts = self.runs_and_attempts()
        found = self.damage()
        return "\n".join(
            [
                f"What the handlers saw, written down outside the store: {runs} runs, "
                f"for {attempts} attempts in the store's records.",
                f"Rules broken ({len(found)}):" if found else "Rules broken: none.",
                *(f"  {v.job_id}: {v.invariant}: {v.detail}" for v in found),
            ]
        )
