"""The scenario harness: what a scenario returns, and the tools it runs both sides with.

A scenario runs one broken variant beside its correct counterpart under the same conditions
and returns a ``ScenarioResult``: plain data with the same fields on both sides and a fixed
order, ready for ``views.comparison`` to turn into tables.

Races are forced, never hoped for: the broken side is held at its race window by a ``Barrier``
or ``Event``, and the correct side is held at the same moment and stays correct, because its
store leaves no window: the check and the change are one step under one lock.

The evidence never comes from the broken component's own bookkeeping. It comes from what the
handlers saw (``RunLog``), from an outside observer (``Witness``), from the jobs as they ended,
or from the real store's audit log, and ``checks.find_violations`` judges it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from ...checks import INVARIANTS, HandlerRun, JobLike, RunLog, Violation, find_violations
from ...domain import FAILED, Job, parse_status
from ...failures import fail_by_type, simulated_work
from ...stores.memory import InMemoryJobStore
from ...sweeper import Sweeper
from ...validation import check_number
from ...work_queue import WorkQueue
from ...worker import Handler, Worker

BROKEN, CORRECT = "broken", "correct"
WORKERS = ("worker-1", "worker-2")

DEFAULT_TIMEOUT = 5.0
"""The longest a scenario waits for any one step before it gives up with ``TimeoutError``.
A healthy run needs a small fraction of it; it is there so a bug can never hang a notebook."""

MIN_TIMEOUT, MAX_TIMEOUT = 0.001, 3600.0


# --- what a scenario returns ----------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    """One job as a scenario reports it: the same six fields on either side, and no timestamp."""

    id: str
    type: str
    status: str
    attempts: int
    max_retries: int
    last_error: str | None

    @classmethod
    def of(cls, job: JobLike) -> JobRow:
        status = parse_status(job.status).value
        return cls(job.id, job.type, status, job.attempts, job.max_retries, job.last_error)


@dataclass(frozen=True)
class SideResult:
    """What one side of a scenario showed.

    ``evidence`` holds the rules it broke, as ``Violation`` rows (empty when clean); ``defect``
    says in plain words what went wrong ("" when nothing did); ``jobs`` are the jobs at the end;
    ``output`` is what the side printed or reported; ``runs`` is used only by the scenarios that
    repeat a run: the status of every job, run by run.
    """

    side: str
    variant: str
    evidence: tuple[Violation, ...]
    defect: str
    jobs: tuple[JobRow, ...] = ()
    output: tuple[str, ...] = ()
    runs: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ScenarioResult:
    """One mistake and its correct counterpart, run under the same conditions."""

    scenario: str
    mistake: str
    broken: SideResult
    correct: SideResult
    notes: tuple[str, ...] = ()

    @property
    def sides(self) -> tuple[SideResult, SideResult]:
        return (self.broken, self.correct)


def broken_side(
    variant: str, evidence: Iterable[Violation], defect: str, **shown: Any
) -> SideResult:
    """The broken side; ``defect`` is shown only if the evidence bears it out."""
    evidence = _in_order(evidence)
    return SideResult(BROKEN, variant, evidence, defect if evidence else "", **shown)


def correct_side(variant: str, evidence: Iterable[Violation], **shown: Any) -> SideResult:
    """The correct side; should it ever break a rule, the rule's name is its defect."""
    evidence = _in_order(evidence)
    defect = "; ".join(dict.fromkeys(v.invariant for v in evidence))
    return SideResult(CORRECT, variant, evidence, defect, **shown)


def broken_store_side(
    variant: str,
    store: Any,
    defect: str,
    *,
    created: Iterable[str] | None = None,
    handler_runs: Iterable[HandlerRun] = (),
    **shown: Any,
) -> SideResult:
    """The broken side of a run on a store that keeps no audit log: judged from the jobs it
    ended with, the ids that were ``created`` and what the handlers saw."""
    jobs = store.list_jobs()
    found = find_violations(jobs, created=created, handler_runs=handler_runs)
    return broken_side(variant, found, defect, jobs=rows(jobs), **shown)


def real_store_side(
    variant: str, store: InMemoryJobStore, *, handler_runs: Iterable[HandlerRun] = (), **shown: Any
) -> SideResult:
    """The correct side of a run on the real store: judged from its jobs and its audit log."""
    jobs = store.list_jobs()
    found = find_violations(jobs, store.transitions(), handler_runs=handler_runs)
    return correct_side(variant, found, jobs=rows(jobs), **shown)


def rows(jobs: Iterable[JobLike]) -> tuple[JobRow, ...]:
    return tuple(JobRow.of(job) for job in jobs)


def _in_order(evidence: Iterable[Violation]) -> tuple[Violation, ...]:
    """Sort as the checker does: by rule, then job; rows a scenario adds come after its rules."""
    rank = {name: n for n, name in enumerate(INVARIANTS)}
    return tuple(sorted(evidence, key=lambda v: (rank.get(v.invariant, len(rank)), v.job_id or "")))


# --- a scenario: a name, the mistake, and how to play both sides ----------------------------


class Sides(NamedTuple):
    """What playing a scenario gives: its two sides, and any notes for the reader."""

    broken: SideResult
    correct: SideResult
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One mistake's demonstration, ready to run: calling it returns its ``ScenarioResult``.

    The scenario's name is written here once; the result, the registry (``SCENARIOS``) and
    the tables all take it from here. ``play(timeout)`` runs both sides.
    """

    name: str
    mistake: str
    play: Callable[[float], Sides] = field(repr=False)

    def __call__(self, *, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
        """Run both sides; no step waits longer than ``timeout`` seconds."""
        broken, correct, notes = self.play(checked_timeout(timeout))
        return ScenarioResult(self.name, self.mistake, broken, correct, notes)


def scenario(name: str, mistake: str) -> Callable[[Callable[[float], Sides]], Scenario]:
    """Decorate a function ``play(timeout) -> Sides`` to make it the ``Scenario`` ``name``."""
    return partial(Scenario, name, mistake)


def checked_timeout(timeout: object) -> float:
    """A scenario's timeout: a number of seconds, never "no limit", so nothing can hang."""
    return check_number(timeout, "timeout", minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT)


# --- threads --------------------------------------------------------------------------------


def run_threads(targets: Mapping[str, Callable[[], object]], timeout: float) -> None:
    """Run each target on its own thread, named by its key, and wait for all of them.

    An exception on any thread is raised here, in the caller, instead of being printed, and a
    thread still running after ``timeout`` seconds raises ``TimeoutError``: no demo can hang.
    """
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_keep_errors, args=(target, errors), name=name, daemon=True)
        for name, target in targets.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise TimeoutError(f"{', '.join(stuck)} still running after {timeout} s")
    if errors:
        raise errors[0]


def _keep_errors(target: Callable[[], object], errors: list[BaseException]) -> None:
    try:
        target()
    except BaseException as exc:
        errors.append(exc)


def wait_for(event: threading.Event, timeout: float, what: str) -> None:
    """Wait until ``event`` is set; ``TimeoutError`` naming ``what`` after ``timeout`` s."""
    if not event.wait(timeout):
        raise TimeoutError(f"gave up after {timeout} s waiting for {what}")


def read_until_failed(read: Callable[[], Job], timeout: float) -> Job:
    """Read the job again and again until it shows "failed", and return that reading."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while (job := read()).status is not FAILED:
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {job.id} to fail")
        pause.wait(0.0005)
    return job


# --- jobs, and real workers and sweeps to run them ------------------------------------------

MIXED_JOBS = (
    ("email", {"to": "ada@example.org"}),
    ("report", {"month": "2024-05"}),
    ("email", {"to": "grace@example.org"}),
)
EMAILS_FAIL = simulated_work(fail=fail_by_type("email"))


def create(store: Any, jobs: Iterable[tuple[str, dict]], *, max_retries: int) -> list[str]:
    """Create ``(type, payload)`` jobs on ``store``; their ids, in order."""
    return [store.create_job(kind, payload, max_retries=max_retries).id for kind, payload in jobs]


def real_worker(name: str, store: InMemoryJobStore, handler: Handler) -> Worker:
    """A real ``Worker``, to call ``process`` on directly with a job already claimed."""
    return Worker(name, store, WorkQueue(), handler, threading.Event())


def work_off(
    store: Any,
    handler: Handler,
    job_ids: Iterable[str],
    *,
    timeout: float,
    worker: Callable[..., Worker] = Worker,
) -> None:
    """Put ``job_ids`` on a real ``WorkQueue`` and run one worker's real loop until it is empty."""
    job_ids = list(job_ids)
    work = WorkQueue(capacity=max(len(job_ids), 1))
    for job_id in job_ids:
        work.put(job_id)
    work.wake(1)
    thread = worker("worker-1", store, work, handler, threading.Event())
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"worker-1 still running after {timeout} s")


def work_mixed_jobs(
    store: Any, timeout: float, *, worker: Callable[..., Worker] = Worker
) -> list[str]:
    """``MIXED_JOBS`` with one attempt each, worked off by ``worker``; emails fail. Their ids."""
    ids = create(store, MIXED_JOBS, max_retries=1)
    work_off(store, EMAILS_FAIL, ids, timeout=timeout, worker=worker)
    return ids


def mixed_jobs_side_by_side(
    store: Any,
    variant: str,
    defect: str,
    timeout: float,
    *,
    worker: Callable[..., Worker] = Worker,
) -> tuple[SideResult, SideResult]:
    """``MIXED_JOBS`` on a broken store worked off by ``worker``, and on the real store by the
    real ``Worker``: both sides, judged."""
    real = InMemoryJobStore()
    ids = work_mixed_jobs(store, timeout, worker=worker)
    work_mixed_jobs(real, timeout)
    return (
        broken_store_side(variant, store, defect, created=ids),
        real_store_side("Worker on InMemoryJobStore", real),
    )


def sweep_and_work(
    store: Any,
    handler: Handler,
    *,
    sweeps: int,
    timeout: float,
    log: RunLog | None = None,
    worker: Callable[..., Worker] = Worker,
) -> list[str]:
    """Sweep, then work off what the sweep queued; ``sweeps`` times. Returns a line per sweep."""
    queued: list[str] = []
    sweeper = Sweeper(store, _append_to(queued))
    lines = []
    for number in range(1, sweeps + 1):
        if log is not None:
            log.sweep()
        report = sweeper.sweep_once()
        lines.append(f"sweep {number}: retried {', '.join(report.retried) or 'nothing'}")
        batch, queued[:] = list(queued), []
        work_off(store, handler, batch, timeout=timeout, worker=worker)
    return lines


def _append_to(queued: list[str]) -> Callable[[str], bool]:
    """An ``enqueue`` for a sweeper run by hand: it collects the ids, and takes every one."""

    def enqueue(job_id: str) -> bool:
        queued.append(job_id)
        return True

    return enqueue
