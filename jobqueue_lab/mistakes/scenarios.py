"""Scenarios: each broken variant run beside the correct pattern, under the same conditions.

Each ``scenario_*`` function returns a ``ScenarioResult``: plain data with the same fields on
both sides and a fixed order, ready for ``comparison`` to turn into tables.

Races are forced, never hoped for: the broken side is held at its race window by a ``Barrier``
or ``Event``, and the correct side is held at the same moment and stays correct, because its
store leaves no window: the check and the change are one step under one lock.

The evidence never comes from the broken component's own bookkeeping. It comes from what the
handlers saw (``RunLog``), from an outside observer (``Witness``), from the jobs as they ended,
or from the real store's audit log, and ``checks.find_violations`` judges it.
"""

from __future__ import annotations

import itertools
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..audit import Transition
from ..checks import INVARIANTS, JobLike, RunLog, Violation, Witness, find_violations
from ..domain import Job, JobStatus, parse_status
from ..errors import InvalidTransition
from ..failures import FailurePolicy, SimulatedFailure, fail_by_type, simulated_work
from ..store import (
    InMemoryJobStore,
)
from ..sweeper import Sweeper
from ..work_queue import WorkQueue
from ..worker import Handler, Worker, describe_failure
from .broken import (
    ForgetfulWorker,
    Hook,
    LiveRecordStore,
    MutatingWorker,
    NoRetryLimitStore,
    PlainStore,
    RandomFailure,
    SaveTooEarlyStore,
    SelfRetryingWorker,
    UnlockedStore,
    _is_number,
    carry_on,
    error_lines,
    error_lines_unchecked,
)

PENDING, PROCESSING, COMPLETED, FAILED = JobStatus


# --- what the scenarios return --------------------------------------------------------------

BROKEN, CORRECT = "broken", "correct"
WORKERS = ("worker-1", "worker-2")

DEFAULT_TIMEOUT = 5.0
"""The longest a scenario waits for any one step before it gives up with ``TimeoutError``.
A healthy run needs a small fraction of it; it is there so a bug can never hang a notebook."""

CRASHED_READING_ERROR = "crashed reading last_error"
OUTCOME_CHANGED = "outcome changed between runs"
RETRY_STORM = "retried without the sweeper"


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


def _broken_side(
    variant: str, evidence: Iterable[Violation], defect: str, **shown: Any
) -> SideResult:
    evidence = _in_order(evidence)
    return SideResult(BROKEN, variant, evidence, defect if evidence else "", **shown)


def _correct_side(variant: str, evidence: Iterable[Violation], **shown: Any) -> SideResult:
    evidence = _in_order(evidence)
    defect = "; ".join(dict.fromkeys(v.invariant for v in evidence))
    return SideResult(CORRECT, variant, evidence, defect, **shown)


def _in_order(evidence: Iterable[Violation]) -> tuple[Violation, ...]:
    """Sort as the checker does: by rule, then job; rows a scenario adds come after its rules."""
    rank = {name: n for n, name in enumerate(INVARIANTS)}
    return tuple(sorted(evidence, key=lambda v: (rank.get(v.invariant, len(rank)), v.job_id or "")))


def _rows(jobs: Iterable[JobLike]) -> tuple[JobRow, ...]:
    return tuple(JobRow.of(job) for job in jobs)


# --- the scenarios' instruments -------------------------------------------------------------


def _run_threads(targets: Mapping[str, Callable[[], object]], timeout: float) -> None:
    """Run each target on its own thread, named by its key, and wait for all of them.

    An exception on any thread is raised here, in the caller, instead of being printed, and a
    thread still running after ``timeout`` seconds raises ``TimeoutError``: no demo can hang.
    """
    errors: list[BaseException] = []

    def guarded(target: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [
        threading.Thread(target=guarded(target), name=name, daemon=True)
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


def _wait_for(event: threading.Event, timeout: float, what: str) -> None:
    if not event.wait(timeout):
        raise TimeoutError(f"gave up after {timeout} s waiting for {what}")


def _read_until_failed(read: Callable[[], Job], timeout: float) -> Job:
    """Read the job again and again until it shows "failed", and return that reading."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while (job := read()).status is not FAILED:
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {job.id} to fail")
        pause.wait(0.0005)
    return job


def _real_worker(name: str, store: InMemoryJobStore, handler: Handler) -> Worker:
    """A real ``Worker``, to call ``process`` on directly with a job already claimed."""
    return Worker(name, store, WorkQueue(), handler, threading.Event())


def _work_off(
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


def _sweep_and_work(
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

    def enqueue(job_id: str) -> bool:
        queued.append(job_id)
        return True

    sweeper = Sweeper(store, enqueue)
    lines = []
    for number in range(1, sweeps + 1):
        if log is not None:
            log.sweep()
        report = sweeper.sweep_once()
        lines.append(f"sweep {number}: retried {', '.join(report.retried) or 'nothing'}")
        batch, queued[:] = list(queued), []
        _work_off(store, handler, batch, timeout=timeout, worker=worker)
    return lines


def _create(store: Any, jobs: Iterable[tuple[str, dict]], *, max_retries: int) -> list[str]:
    return [store.create_job(kind, payload, max_retries=max_retries).id for kind, payload in jobs]


MIXED_JOBS = (
    ("email", {"to": "ada@example.org"}),
    ("report", {"month": "2024-05"}),
    ("email", {"to": "grace@example.org"}),
)
EMAILS_FAIL = simulated_work(fail=fail_by_type("email"))


def _checked_timeout(timeout: object) -> float:
    if not _is_number(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


# --- scenario: the worker mutates state (mistake 1) -----------------------------------------


class _LiveRecordSide:
    """Mistake 1's broken side: a ``LiveRecordStore`` whose records ``MutatingWorker``s change."""

    variant = "MutatingWorker on LiveRecordStore"

    def __init__(self) -> None:
        self.store = LiveRecordStore()
        self.witness = Witness()

    def read(self, job_id: str) -> Job:
        return self.store.get_job(job_id).snapshot()

    def deliver(
        self,
        name: str,
        job_id: str,
        handler: Handler,
        *,
        hold: Hook = carry_on,
        between_writes: Hook = carry_on,
    ) -> bool:
        """Worker ``name`` gets ``job_id``; ``hold`` runs in its race window, after its check."""
        worker = MutatingWorker(
            name, self.store, handler, race_window=hold, between_writes=between_writes
        )
        return worker.process(self.store.get_job(job_id))

    def transitions(self) -> list[Transition]:
        return self.witness.transitions()


class _SnapshotStoreSide:
    """Mistake 1's correct side: an ``InMemoryJobStore`` and real ``Worker``s that signal it."""

    variant = "Worker on InMemoryJobStore"

    def __init__(self) -> None:
        self.store = InMemoryJobStore()
        self.witness = Witness()

    def read(self, job_id: str) -> Job:
        return self.store.get_job(job_id)

    def deliver(
        self,
        name: str,
        job_id: str,
        handler: Handler,
        *,
        hold: Hook = carry_on,
        between_writes: Hook = carry_on,
    ) -> bool:
        """Worker ``name`` gets ``job_id``. ``claim_job`` has no inside to hold a worker in, so
        ``hold`` runs just before it; there is no moment between two writes, so
        ``between_writes`` is never called."""
        hold(self.read(job_id))
        job = self.store.claim_job(job_id)
        if job is None:
            return False
        _real_worker(name, self.store, handler).process(job)
        return True

    def transitions(self) -> list[Transition]:
        return self.store.transitions()


def scenario_worker_mutates_state(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 1, three ways, each job in its own act:

    - job-001: one id is handed to two workers at the same moment;
    - job-002: worker-2 checks the job, is held, and goes on after worker-1 has finished it;
    - job-003: a reader looks at the job as soon as it shows "failed".
    """
    timeout = _checked_timeout(timeout)
    broken, correct = _LiveRecordSide(), _SnapshotStoreSide()
    return ScenarioResult(
        "worker mutates state",
        "mistake 1: worker directly mutates state",
        _broken_side(
            broken.variant,
            _three_acts(broken, timeout),
            "two workers ran one job at once; a finished job was taken again; "
            "a reader saw a failure with no reason",
            jobs=_rows(broken.store.list_jobs()),
        ),
        _correct_side(
            correct.variant,
            _three_acts(correct, timeout),
            jobs=_rows(correct.store.list_jobs()),
        ),
    )


def _three_acts(side: _LiveRecordSide | _SnapshotStoreSide, timeout: float) -> list[Violation]:
    store, witness = side.store, side.witness
    report = store.create_job("report", {"month": "2024-05"}).id
    first_email = store.create_job("email", {"to": "ada@example.org"}).id
    second_email = store.create_job("email", {"to": "grace@example.org"}).id
    for job_id in (report, first_email, second_email):
        witness.saw(side.read(job_id), "scenario")
    log = RunLog(witness)
    _same_id_at_once(side, report, log, timeout)
    _acting_on_an_old_check(side, first_email, log, timeout)
    half_seen = _looking_at_a_failure(side, second_email, log, timeout)
    found = find_violations(
        store.list_jobs(), side.transitions(), handler_runs=log.runs, expect_settled=False
    )
    return found + half_seen


def _same_id_at_once(side: Any, job_id: str, log: RunLog, timeout: float) -> None:
    """Act (a): both workers get the id at once; the broken ones are held after their check until
    both have checked. The handler holds every run until both workers have had their turn, so
    two runs of the job, if there are two, overlap; a worker that was refused takes its turn
    without running."""
    both_checked = threading.Barrier(2, timeout=timeout)
    turns = threading.Barrier(2, timeout=timeout)
    handler = log.watch(lambda job: turns.wait())

    def worker(name: str) -> None:
        if not side.deliver(name, job_id, handler, hold=lambda job: both_checked.wait()):
            turns.wait()
        side.witness.saw(side.read(job_id))

    _run_threads({name: partial(worker, name) for name in WORKERS}, timeout)


def _acting_on_an_old_check(side: Any, job_id: str, log: RunLog, timeout: float) -> None:
    """Act (b): worker-2 is handed the id first but held; worker-1 then sends the email, start to
    finish; then worker-2 goes on. Sending the same email twice fails as a duplicate."""
    handler = log.watch(_send_once())
    held, first_done = threading.Event(), threading.Event()

    def hold(job: object) -> None:
        held.set()
        _wait_for(first_done, timeout, "worker-1 to finish")

    def second() -> None:
        side.deliver("worker-2", job_id, handler, hold=hold)
        side.witness.saw(side.read(job_id))

    def first() -> None:
        try:
            _wait_for(held, timeout, "worker-2 to be held")
            side.deliver("worker-1", job_id, handler)
            side.witness.saw(side.read(job_id))
        finally:
            first_done.set()

    _run_threads({"worker-2": second, "worker-1": first}, timeout)


def _looking_at_a_failure(side: Any, job_id: str, log: RunLog, timeout: float) -> list[Violation]:
    """Act (c): the job fails; a reader waits until it shows "failed" and reads it then. The
    broken worker is held between its two assignments until the reader has looked."""
    looked = threading.Event()
    seen: list[Job] = []

    def until_looked(job: object) -> None:
        _wait_for(looked, timeout, "the reader to look")

    def work() -> None:
        side.deliver("worker-1", job_id, log.watch(EMAILS_FAIL), between_writes=until_looked)
        side.witness.saw(side.read(job_id))

    def read() -> None:
        try:
            seen.append(_read_until_failed(lambda: side.read(job_id), timeout))
        finally:
            looked.set()

    _run_threads({"worker-1": work, "reader": read}, timeout)
    return [
        Violation(v.invariant, v.job_id, f"a reader saw it half-written: {v.detail}")
        for v in find_violations(seen, expect_settled=False)
    ]


def _send_once() -> Handler:
    """A handler for an email that must go out once: sending the same job again fails."""
    sent: set[str] = set()
    lock = threading.Lock()

    def send(job: Any) -> None:
        with lock:
            if job.id in sent:
                raise SimulatedFailure(f"duplicate: {job.id} was already sent")
            sent.add(job.id)

    return send


# --- scenario: failed with no reason (mistake 2) --------------------------------------------


def scenario_failed_without_reason(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 2: the same jobs, one worker that says why a job failed and one that does not."""
    timeout = _checked_timeout(timeout)
    plain, real = PlainStore(), InMemoryJobStore()
    ids = _create(plain, MIXED_JOBS, max_retries=1)
    _create(real, MIXED_JOBS, max_retries=1)
    _work_off(plain, EMAILS_FAIL, ids, timeout=timeout, worker=ForgetfulWorker)
    _work_off(real, EMAILS_FAIL, ids, timeout=timeout)
    return ScenarioResult(
        "failed with no reason",
        "mistake 2: not setting last_error",
        _broken_side(
            "ForgetfulWorker on PlainStore",
            find_violations(plain.list_jobs(), created=ids),
            "failed jobs do not say why they failed",
            jobs=_rows(plain.list_jobs()),
        ),
        _correct_side(
            "Worker on InMemoryJobStore",
            find_violations(real.list_jobs(), real.transitions()),
            jobs=_rows(real.list_jobs()),
        ),
        notes=_real_store_refuses_a_failure_without_reason(),
    )


def _real_store_refuses_a_failure_without_reason() -> tuple[str, ...]:
    store = InMemoryJobStore()
    job_id = store.create_job("email", {"to": "ada@example.org"}, actor="scenario").id
    store.claim_job(job_id, actor="worker-1")
    try:
        store.update_status(job_id, FAILED, actor="worker-1")
    except ValueError as exc:
        refusal = describe_failure(exc)
    else:
        raise AssertionError("InMemoryJobStore accepted a failure with no last_error")
    [entry] = [t for t in store.transitions() if not t.accepted]
    return (
        f"Sent to InMemoryJobStore, the same report is refused: {refusal}",
        f"Its audit log records the refusal ({entry.job_id}: {entry.from_status} -> "
        f"{entry.to_status}, refused), and {job_id} is still {store.get_job(job_id).status}.",
    )


# --- scenario: saved before the error was set (mistake 3) -----------------------------------


def scenario_saved_before_error(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 3: the same worker and jobs, on a store that saves too early and on the real one."""
    timeout = _checked_timeout(timeout)
    early, real = SaveTooEarlyStore(), InMemoryJobStore()
    ids = _create(early, MIXED_JOBS, max_retries=1)
    _create(real, MIXED_JOBS, max_retries=1)
    _work_off(early, EMAILS_FAIL, ids, timeout=timeout)
    _work_off(real, EMAILS_FAIL, ids, timeout=timeout)
    return ScenarioResult(
        "saved before the error",
        "mistake 3: not saving after setting last_error",
        _broken_side(
            "Worker on SaveTooEarlyStore",
            find_violations(early.list_jobs(), created=ids),
            "the reason was set after the save, and lost",
            jobs=_rows(early.list_jobs()),
        ),
        _correct_side(
            "Worker on InMemoryJobStore",
            find_violations(real.list_jobs(), real.transitions()),
            jobs=_rows(real.list_jobs()),
        ),
        notes=_what_the_caller_was_told(),
    )


def _what_the_caller_was_told() -> tuple[str, ...]:
    store = SaveTooEarlyStore()
    job_id = store.create_job("email").id
    store.claim_job(job_id)
    told = store.update_status(job_id, FAILED, "SMTPError: mailbox full")
    return (
        f"update_status handed back {job_id} with last_error {told.last_error!r}; "
        f"the stored {job_id} has last_error {store.get_job(job_id).last_error!r}.",
    )


# --- scenario: reading a missing error (mistake 4) ------------------------------------------


def scenario_reading_missing_error(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 4: two reports of the same finished jobs, one that checks for ``None``."""
    timeout = _checked_timeout(timeout)
    store = InMemoryJobStore()
    _work_off(store, EMAILS_FAIL, _create(store, MIXED_JOBS, max_retries=1), timeout=timeout)
    jobs = store.list_jobs()
    unchecked_lines, unchecked_evidence = _read_report(error_lines_unchecked(jobs), jobs)
    checked_lines, checked_evidence = _read_report(error_lines(jobs), jobs)
    return ScenarioResult(
        "missing error read",
        "mistake 4: using last_error without checking for None",
        _broken_side(
            "error_lines_unchecked",
            unchecked_evidence,
            "the report crashed on a job with no error",
            jobs=_rows(jobs),
            output=unchecked_lines,
        ),
        _correct_side("error_lines", checked_evidence, jobs=_rows(jobs), output=checked_lines),
    )


def _read_report(lines: Iterator[str], jobs: list[Job]) -> tuple[tuple[str, ...], list[Violation]]:
    """Every line the report gives, and a piece of evidence if it crashed before the end."""
    read: list[str] = []
    try:
        read.extend(lines)
    except Exception as exc:
        crash = describe_failure(exc)
        return (*read, f"crashed: {crash}"), [
            Violation(CRASHED_READING_ERROR, jobs[len(read)].id, crash)
        ]
    return tuple(read), []


# --- scenario: random failure simulation (mistake 5) ----------------------------------------

RANDOM_RUNS = 3
RANDOM_RUN_JOBS = 64
"""Each run decides 64 independent fair coins, so two runs agree with probability 2**-64, and
some two of three runs agree with probability at most 3 * 2**-64 (about 1.6e-19). The broken
side differs on every run "for certain" in that sense; nothing else here depends on chance."""


def scenario_random_failure(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Mistake 5: the same 64 jobs, three runs with a coin-flip policy and three with a fixed one.

    The jobs of each run are not listed (they would differ every time the notebook ran);
    ``runs`` holds every job's status, run by run, for a chart.
    """
    timeout = _checked_timeout(timeout)
    coin_runs = tuple(_one_run(RandomFailure(), timeout) for _ in range(RANDOM_RUNS))
    fixed_runs = tuple(_one_run(fail_by_type("email"), timeout) for _ in range(RANDOM_RUNS))
    return ScenarioResult(
        "random failures",
        "mistake 5: random failure simulation",
        _broken_side(
            "RandomFailure (unseeded)",
            _differences(coin_runs),
            "the same scenario failed different jobs on every run",
            output=_distinct_outcomes(coin_runs),
            runs=coin_runs,
        ),
        _correct_side(
            'fail_by_type("email")',
            _differences(fixed_runs),
            output=_distinct_outcomes(fixed_runs),
            runs=fixed_runs,
        ),
    )


def _one_run(policy: FailurePolicy, timeout: float) -> tuple[str, ...]:
    kinds = ("email", "report", "resize", "invoice")
    store = InMemoryJobStore()
    jobs = [(kinds[n % len(kinds)], {"n": n}) for n in range(RANDOM_RUN_JOBS)]
    ids = _create(store, jobs, max_retries=1)
    _work_off(store, simulated_work(fail=policy), ids, timeout=timeout)
    return tuple(job.status.value for job in store.list_jobs())


def _differences(runs: tuple[tuple[str, ...], ...]) -> list[Violation]:
    return [
        Violation(OUTCOME_CHANGED, None, f"run {a + 1} and run {b + 1} failed different jobs")
        for a, b in itertools.combinations(range(len(runs)), 2)
        if runs[a] != runs[b]
    ]


def _distinct_outcomes(runs: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    return (f"{len(runs)} runs of {len(runs[0])} jobs: {len(set(runs))} different outcome(s)",)


# --- scenario: no lock (atomic state updates) -----------------------------------------------


def scenario_no_lock(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Atomic updates: two workers claim each of three jobs at the same moment, on a store
    without a lock and on the real store."""
    timeout = _checked_timeout(timeout)
    unlocked = UnlockedStore(race_window=_meeting_point(timeout))
    real = InMemoryJobStore()
    unlocked_log = _claim_each_job_at_once(unlocked, before_claim=carry_on, timeout=timeout)
    real_log = _claim_each_job_at_once(real, before_claim=_meeting_point(timeout), timeout=timeout)
    return ScenarioResult(
        "no lock",
        "atomic updates: read-modify-write with no lock",
        _broken_side(
            "UnlockedStore",
            find_violations(unlocked.list_jobs(), handler_runs=unlocked_log.runs),
            "both workers claimed each job, and one attempt was lost",
            jobs=_rows(unlocked.list_jobs()),
        ),
        _correct_side(
            "InMemoryJobStore",
            find_violations(real.list_jobs(), real.transitions(), handler_runs=real_log.runs),
            jobs=_rows(real.list_jobs()),
        ),
    )


def _meeting_point(timeout: float) -> Hook:
    """A hook that holds each of two workers until both have reached it."""
    both_there = threading.Barrier(2, timeout=timeout)
    return lambda job: both_there.wait()


def _claim_each_job_at_once(store: Any, *, before_claim: Hook, timeout: float) -> RunLog:
    """Three jobs, each handed to both workers at once. The unlocked store holds them at its
    race window, inside ``claim_job``; the real store's claim has no inside to hold anyone in,
    so ``before_claim`` holds them just before it. As in mistake 1, the handler holds every run
    until both workers have had their turn, and a worker that was refused takes its turn
    without running."""
    log = RunLog()
    for job_id in _create(store, [("report", {"n": n}) for n in range(1, 4)], max_retries=3):
        _claim_at_once(store, job_id, log, before_claim=before_claim, timeout=timeout)
    return log


def _claim_at_once(store: Any, job_id: str, log: RunLog, *, before_claim: Hook, timeout: float):
    turns = threading.Barrier(2, timeout=timeout)
    handler = log.watch(lambda job: turns.wait())

    def worker() -> None:
        before_claim(None)
        job = store.claim_job(job_id)
        if job is None:
            turns.wait()
            return
        handler(job)
        with suppress(InvalidTransition):  # the other worker may have finished it first
            store.update_status(job_id, COMPLETED)

    _run_threads(dict.fromkeys(WORKERS, worker), timeout)


# --- scenario: no retry limit ---------------------------------------------------------------

RETRY_SWEEPS = 8


def scenario_no_retry_limit(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """Retries: an email that always fails, swept eight times, with and without the limit."""
    timeout = _checked_timeout(timeout)
    broken, correct = NoRetryLimitStore(), InMemoryJobStore()
    ids = _create(broken, MIXED_JOBS[:2], max_retries=3)
    _create(correct, MIXED_JOBS[:2], max_retries=3)
    sweep = partial(_sweep_and_work, handler=EMAILS_FAIL, sweeps=RETRY_SWEEPS, timeout=timeout)
    broken_lines, correct_lines = sweep(broken), sweep(correct)
    return ScenarioResult(
        "no retry limit",
        "retry logic: no attempts < max_retries check",
        _broken_side(
            "Sweeper on NoRetryLimitStore",
            find_violations(broken.list_jobs(), created=ids),
            "a failed job was retried past its limit, on every sweep",
            jobs=_rows(broken.list_jobs()),
            output=tuple(broken_lines),
        ),
        _correct_side(
            "Sweeper on InMemoryJobStore",
            find_violations(correct.list_jobs(), correct.transitions()),
            jobs=_rows(correct.list_jobs()),
            output=tuple(correct_lines),
        ),
    )


# --- scenario: the worker retries by itself -------------------------------------------------

STORM_SWEEPS = 5
STORM_TRIES = 20


def scenario_worker_retries_itself(*, timeout: float = DEFAULT_TIMEOUT) -> ScenarioResult:
    """The sweeper pattern: the same jobs and sweeps, with a worker that retries at once and
    with the real worker that leaves retrying to the sweeper."""
    timeout = _checked_timeout(timeout)
    broken_evidence, broken = _sweep_with(partial(SelfRetryingWorker, tries=STORM_TRIES), timeout)
    correct_evidence, correct = _sweep_with(Worker, timeout)
    return ScenarioResult(
        "worker retries itself",
        "sweeper pattern: the worker retries instead of the sweeper",
        _broken_side(
            f"SelfRetryingWorker(tries={STORM_TRIES})",
            broken_evidence,
            "a failing job ran in bursts, at once and past its limit",
            jobs=_rows(broken.list_jobs()),
        ),
        _correct_side("Worker", correct_evidence, jobs=_rows(correct.list_jobs())),
    )


def _sweep_with(worker: Callable[..., Worker], timeout: float):
    """An email that always fails and a report, swept ``STORM_SWEEPS`` times on the real store,
    worked off by ``worker``; the evidence, and the store."""
    store, log = InMemoryJobStore(), RunLog()
    _create(store, MIXED_JOBS[:2], max_retries=3)
    handler = log.watch(EMAILS_FAIL)
    _sweep_and_work(store, handler, sweeps=STORM_SWEEPS, timeout=timeout, log=log, worker=worker)
    found = find_violations(store.list_jobs(), store.transitions(), handler_runs=log.runs)
    return found + _bursts(log), store


def _bursts(log: RunLog) -> list[Violation]:
    """Runs of one job with no sweep between them: each after the first is a retry the sweeper
    did not make."""
    per_gap: dict[tuple[str, int], int] = defaultdict(int)
    for run in log.runs:
        per_gap[run.job_id, bisect_right(log.sweeps, run.started)] += 1
    worst: dict[str, int] = {}
    for (job_id, _gap), count in per_gap.items():
        worst[job_id] = max(worst.get(job_id, 0), count)
    return [
        Violation(RETRY_STORM, job_id, f"{count} runs in a row with no sweep between them")
        for job_id, count in sorted(worst.items())
        if count > 1
    ]


# --- all of them ----------------------------------------------------------------------------

SCENARIOS: Mapping[str, Callable[..., ScenarioResult]] = {
    "worker mutates state": scenario_worker_mutates_state,
    "failed with no reason": scenario_failed_without_reason,
    "saved before the error": scenario_saved_before_error,
    "missing error read": scenario_reading_missing_error,
    "random failures": scenario_random_failure,
    "no lock": scenario_no_lock,
    "no retry limit": scenario_no_retry_limit,
    "worker retries itself": scenario_worker_retries_itself,
}
"""Every scenario by name, in the order the course shows them."""


def run_all(*, timeout: float = DEFAULT_TIMEOUT) -> list[ScenarioResult]:
    """Run every scenario once, in order."""
    timeout = _checked_timeout(timeout)
    return [scenario(timeout=timeout) for scenario in SCENARIOS.values()]
