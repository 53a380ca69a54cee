"""The invariant checker: inspect a finished run and list every rule it broke.

Tests, the broken-variant demos and the notebook exercises all ask the same question ("did this
run keep the rules?"), so the answer lives here once. The checker trusts only independent
evidence: final snapshots, the real store's audit log, and what handlers observed. It never
trusts the bookkeeping of the component under suspicion.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .audit import Transition, is_requeue
from .domain import JobStatus, can_transition, may_retry, parse_status

JOB_LOST = "job lost"
PROCESSED_TWICE = "job processed twice"
OUTSIDE_TABLE = "accepted transition outside the table"
COMPLETED_CHANGED = "completed job changed"
FAILED_WITHOUT_ERROR = "failed job without an error"
TOO_MANY_ATTEMPTS = "attempts above max_retries"
STUCK_IN_PROCESSING = "job stuck in processing"
NOT_SETTLED = "job not settled"
PAST_LEASE = "job processing past its lease"
STALE_RESULT = "result accepted from a stale claim"

INVARIANTS = (
    JOB_LOST,
    PROCESSED_TWICE,
    OUTSIDE_TABLE,
    COMPLETED_CHANGED,
    FAILED_WITHOUT_ERROR,
    TOO_MANY_ATTEMPTS,
    STUCK_IN_PROCESSING,
    NOT_SETTLED,
    PAST_LEASE,
    STALE_RESULT,
)
"""Every rule the checker knows, in the order its report lists them."""


class JobLike(Protocol):
    """What the checker reads from a job: ``Job`` snapshots and broken variants' records fit."""

    id: str
    status: JobStatus
    attempts: int
    max_retries: int
    last_error: str | None
    permanent: bool


@dataclass(frozen=True)
class HandlerRun:
    """What a handler saw: one run of one job, by one worker, from ``started`` to ``finished``.

    ``started`` and ``finished`` are ticks of a shared counter (not clock times), so two runs
    overlap exactly when one started before the other finished. ``claim`` is the claim the run
    worked under, for stores that number their claims.
    """

    job_id: str
    worker: str
    started: int
    finished: int
    claim: int | None = None


@dataclass(frozen=True)
class Violation:
    """One broken rule: which invariant, which job (if any), and what exactly was seen."""

    invariant: str
    job_id: str | None
    detail: str


class RunLog:
    """What the handlers saw: every run of every job, by which worker, from tick to tick.

    The handlers keep it themselves, apart from any store, so it tells the truth even when the
    store under test does not. ``watch(handler)`` wraps a handler so that its runs land in
    ``runs``, ready for ``find_violations(..., handler_runs=log.runs)``; with a ``Witness``,
    the witness also looks at each job as a run starts. ``sweep()`` notes the tick of a sweep.
    """

    def __init__(self, witness: Witness | None = None) -> None:
        self._witness = witness
        self._ticks = itertools.count()
        self._lock = threading.Lock()
        self.runs: list[HandlerRun] = []
        self.sweeps: list[int] = []

    def tick(self) -> int:
        """The next tick of the shared counter."""
        with self._lock:
            return next(self._ticks)

    def sweep(self) -> None:
        """Note that a sweep happens now, between the runs before it and the runs after it."""
        self.sweeps.append(self.tick())

    def watch(self, handler: Callable[[Any], object]) -> Callable[[Any], object]:
        """The same handler, with each of its runs written down."""

        def watched(job: Any) -> object:
            started = self.tick()
            if self._witness is not None:
                self._witness.saw(job)
            try:
                return handler(job)
            finally:
                worker = threading.current_thread().name
                claim = getattr(job, "claim", None) or None  # 0: never claimed
                run = HandlerRun(job.id, worker, started, self.tick(), claim)
                with self._lock:
                    self.runs.append(run)

        return watched


class Witness:
    """An outside observer's notebook: the status it saw each job in, as transitions.

    A store with no audit log (the broken ones) can still be checked by watching it from
    outside. Whoever looks at a job calls ``saw(job)``; each change of status since the last
    look becomes one accepted ``Transition``, which ``find_violations`` replays like an audit
    log. A change nobody looked at is not seen, so look after every step that matters.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, JobStatus] = {}
        self._log: list[Transition] = []

    def saw(self, job: JobLike, actor: str | None = None) -> None:
        """Write down the job's status if it changed (``actor`` defaults to this thread)."""
        status = parse_status(job.status)
        actor = actor or threading.current_thread().name
        with self._lock:
            before = self._last.get(job.id)
            if before is status:
                return
            self._last[job.id] = status
            self._log.append(Transition(float(len(self._log)), job.id, before, status, True, actor))

    def transitions(self) -> list[Transition]:
        """Everything seen so far, in order."""
        with self._lock:
            return list(self._log)


def find_violations(
    jobs: Iterable[JobLike],
    transitions: Iterable[Transition] | None = None,
    *,
    created: Iterable[str] | None = None,
    handler_runs: Iterable[HandlerRun] = (),
    expect_settled: bool = True,
    now: float | None = None,
    grace: float = 0.0,
) -> list[Violation]:
    """Check a run and return its violations, sorted by invariant then job id.

    ``jobs`` are the final snapshots. ``transitions`` is the audit log, if there is one.
    ``created`` lists the ids that were created (taken from the audit log when not given).
    ``handler_runs`` is what handlers observed. ``expect_settled`` asks that every job be
    completed or failed for good, as at the end of a finished run. With ``now`` (the store's
    clock), a job still processing more than ``grace`` seconds (say, one sweep) after its lease
    ran out is reported.
    """
    jobs = list(jobs)
    transitions = list(transitions) if transitions is not None else None
    found: list[Violation] = []
    found += _lost_jobs(jobs, transitions, created)
    found += _final_state(jobs, expect_settled)
    if now is not None:
        found += _past_lease(jobs, now, grace)
    if transitions is not None:
        found += _audit_log(transitions)
    found += _handler_runs(list(handler_runs), jobs, transitions)
    order = {name: i for i, name in enumerate(INVARIANTS)}
    return sorted(found, key=lambda v: (order.get(v.invariant, len(order)), v.job_id or ""))


def _lost_jobs(jobs, transitions, created) -> list[Violation]:
    if created is None and transitions is not None:
        created = [t.job_id for t in transitions if t.from_status is None and t.accepted]
    if created is None:
        return []
    present = {job.id for job in jobs}
    return [
        Violation(JOB_LOST, job_id, "created, but missing from the final jobs")
        for job_id in dict.fromkeys(created)
        if job_id not in present
    ]


def _final_state(jobs, expect_settled: bool) -> list[Violation]:
    found = []
    for job in jobs:
        if job.status is JobStatus.FAILED and not (job.last_error and job.last_error.strip()):
            found.append(Violation(FAILED_WITHOUT_ERROR, job.id, "failed, last_error is empty"))
        if job.attempts > job.max_retries:
            found.append(
                Violation(
                    TOO_MANY_ATTEMPTS,
                    job.id,
                    f"{job.attempts} attempts, but max_retries is {job.max_retries}",
                )
            )
        if job.status is JobStatus.PROCESSING:
            found.append(Violation(STUCK_IN_PROCESSING, job.id, "still processing at the end"))
        elif expect_settled and (
            job.status is JobStatus.PENDING
            or may_retry(job.status, job.attempts, job.max_retries, job.permanent)
        ):
            found.append(
                Violation(
                    NOT_SETTLED,
                    job.id,
                    f"{job.status.value} with {job.attempts} of {job.max_retries} attempts used",
                )
            )
    return found


def _past_lease(jobs, now: float, grace: float) -> list[Violation]:
    found = []
    for job in jobs:
        expires = getattr(job, "lease_expires_at", None)  # stores without leases have none
        if job.status is JobStatus.PROCESSING and expires is not None and now > expires + grace:
            detail = f"still processing {now - expires:.3g} s after its lease ran out"
            found.append(Violation(PAST_LEASE, job.id, detail))
    return found


def _audit_log(transitions: list[Transition]) -> list[Violation]:
    """Replay the accepted entries job by job; each must be legal and start where the last ended,
    and an outcome reported under a claim must come from the claim that holds the job."""
    found = []
    current: dict[str, JobStatus] = {}
    holder: dict[str, int] = {}
    for t in transitions:
        if not t.accepted:
            continue
        before = current.get(t.job_id)
        current[t.job_id] = t.to_status
        if t.from_status is None:
            continue
        if t.to_status is JobStatus.PROCESSING and t.claim is not None:
            holder[t.job_id] = t.claim
        elif t.claim is not None and t.claim != holder.get(t.job_id, t.claim):
            found.append(
                Violation(
                    STALE_RESULT,
                    t.job_id,
                    f"{t.from_status.value} -> {t.to_status.value} accepted from claim {t.claim}"
                    f" (by {t.actor}) while claim {holder[t.job_id]} held the job",
                )
            )
            continue
        if before is JobStatus.COMPLETED or t.from_status is JobStatus.COMPLETED:
            found.append(
                Violation(
                    COMPLETED_CHANGED,
                    t.job_id,
                    f"completed -> {t.to_status.value} accepted (by {t.actor})",
                )
            )
        elif before is JobStatus.PROCESSING and t.to_status is JobStatus.PROCESSING:
            found.append(
                Violation(PROCESSED_TWICE, t.job_id, f"claimed by {t.actor} while still processing")
            )
        elif not can_transition(t.from_status, t.to_status, releasing=True) or (
            before is not None and before is not t.from_status
        ):
            moved = before is not None and before is not t.from_status
            was = f" (the job was {before.value})" if moved else ""
            found.append(
                Violation(
                    OUTSIDE_TABLE,
                    t.job_id,
                    f"{t.from_status.value} -> {t.to_status.value} accepted (by {t.actor}){was}",
                )
            )
    return found


def _handler_runs(runs: list[HandlerRun], jobs, transitions) -> list[Violation]:
    if not runs:
        return []
    found = []
    runs_by_job: dict[str, list[HandlerRun]] = defaultdict(list)
    for run in runs:
        runs_by_job[run.job_id].append(run)
    for job_id, job_runs in runs_by_job.items():
        job_runs.sort(key=lambda r: r.started)
        for earlier, later in itertools.pairwise(job_runs):
            # Runs under two different claims may overlap: the first claim's lease ran out
            # before the second was granted, and fencing refuses whatever the first reports.
            if later.started < earlier.finished and (
                earlier.claim is None or earlier.claim == later.claim
            ):
                # Named in sorted order: which of the two started first is up to the scheduler.
                first, second = sorted((earlier.worker, later.worker))
                found.append(
                    Violation(
                        PROCESSED_TWICE, job_id, f"{first} and {second} ran it at the same time"
                    )
                )
    claims, released = _accepted_claims(jobs, transitions)
    # Each requeue gives a job a fresh budget, so the limit grows by one budget per requeue.
    budgets = Counter(t.job_id for t in transitions or () if is_requeue(t))
    limits = {job.id: job.max_retries * (1 + budgets[job.id]) for job in jobs}
    for job_id, count in Counter(run.job_id for run in runs).items():
        if job_id in claims and count > claims[job_id]:
            found.append(
                Violation(
                    PROCESSED_TWICE,
                    job_id,
                    f"handlers ran it {count} times for {claims[job_id]} recorded attempt(s)",
                )
            )
        # A released run gave its attempt back, so it does not count against the limit.
        counted = count - released.get(job_id, 0)
        if job_id in limits and counted > limits[job_id]:
            found.append(
                Violation(
                    TOO_MANY_ATTEMPTS,
                    job_id,
                    f"handlers ran it {counted} times, but max_retries is {limits[job_id]}",
                )
            )
    return found


def _accepted_claims(jobs, transitions) -> tuple[Counter[str] | dict[str, int], Counter[str]]:
    """How many claims each job really had, and how many of them were released: from the
    audit log, else (without releases) from the final snapshots."""
    if transitions is None:
        return {job.id: job.attempts for job in jobs}, Counter()
    accepted = [t for t in transitions if t.accepted]
    claims = Counter(t.job_id for t in accepted if t.to_status is JobStatus.PROCESSING)
    released = Counter(
        t.job_id
        for t in accepted
        if (t.from_status, t.to_status) == (JobStatus.PROCESSING, JobStatus.PENDING)
    )
    return claims, released
