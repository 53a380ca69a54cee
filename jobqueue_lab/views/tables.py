"""Tables: what the queue did, as pandas DataFrames you can read, sort and filter.

Every table is built from what the store hands out to anyone: job snapshots
(``store.list_jobs()``) and the audit log (``store.transitions()``). Nothing here reaches into
the store, so the tables show the same evidence the invariant checker uses.

The same scenario gives the same table on every run, which is what lets a notebook keep its
outputs: rows come in creation order (or audit-log order), statuses are plain strings, and
times are left out unless you ask for them with ``times=True``. Where there is no error the
cell holds ``None``, the same "no error" the ``Job`` uses, never an empty string or NaN.

Importing this module makes pandas show text in full, in every table. By default pandas cuts
a cell after 50 characters, which is just where an error message says which attempt failed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from ..audit import Transition
from ..domain import Job, JobStatus, may_retry, parse_status
from ..stores.memory import InMemoryJobStore
from .history import attempts_in

PERMANENT = "permanent"
OUT_OF_ATTEMPTS = "out of attempts"
"""Why a job is in the dead-letter table: failed with ``PermanentFailure``, or no attempts left."""

FAILED_ROW_COLOUR = "#f8d7da"
"""Background of failed rows in ``styled_jobs_table``: a light red that keeps text readable."""

JOB_COLUMNS = ("id", "type", "status", "attempts", "max_retries", "last_error")

pd.set_option("display.max_colwidth", None)


def jobs_table(store: InMemoryJobStore | Iterable[Job]) -> pd.DataFrame:
    """One row per job, in creation order: ``id, type, status, attempts, max_retries, last_error``.

    Pass a store, or any list of ``Job`` snapshots (for example ``store.get_failed_jobs()``).
    """
    rows = [
        (job.id, job.type, _status(job.status), job.attempts, job.max_retries, job.last_error)
        for job in _jobs(store)
    ]
    return frame_from_rows(rows, JOB_COLUMNS, may_be_none={"last_error"})


def styled_jobs_table(store: InMemoryJobStore | Iterable[Job]) -> Styler:
    """``jobs_table`` with every failed row shaded, so failures stand out at a glance.

    The styled HTML is the same on every run for the same jobs: pandas would otherwise put a
    random id in it, and a notebook that stores its outputs would change each time it ran.
    """
    frame = jobs_table(store)
    styler = StableStyler(frame, uuid=_content_id(frame))
    return styler.apply(_shade_failed_row, axis=1)


def failed_jobs_table(store: InMemoryJobStore | Iterable[Job]) -> pd.DataFrame:
    """The failed jobs, each with its reason and whether the sweeper will try it again.

    Columns ``id, type, attempts, max_retries, last_error, will_retry``; ``will_retry`` is
    True while the sweeper may retry it (``may_retry``: attempts left, and not a permanent
    failure).
    """
    rows = [
        (job.id, job.type, job.attempts, job.max_retries, job.last_error, _will_retry(job))
        for job in _jobs(store)
        if _status(job.status) == JobStatus.FAILED.value
    ]
    columns = ("id", "type", "attempts", "max_retries", "last_error", "will_retry")
    return frame_from_rows(rows, columns, may_be_none={"last_error"})


def dead_letter_table(store: InMemoryJobStore) -> pd.DataFrame:
    """The dead-letter view: the jobs that failed for good, each with why and its last error.

    Columns ``id, type, attempts, max_retries, why, last_error``, one row per job of
    ``store.get_dead_jobs()``, in creation order. ``why`` is ``"permanent"`` for a job its
    handler failed with ``PermanentFailure`` (retrying could not help, so no attempt was
    spent on trying), or ``"out of attempts"`` for one that used up ``max_retries``. Nothing
    here will run again unless someone requeues it on purpose (``store.requeue``).
    """
    rows = [
        (job.id, job.type, job.attempts, job.max_retries, _why_dead(job), job.last_error)
        for job in store.get_dead_jobs()
    ]
    columns = ("id", "type", "attempts", "max_retries", "why", "last_error")
    return frame_from_rows(rows, columns, may_be_none={"last_error"})


def leases_table(store: InMemoryJobStore) -> pd.DataFrame:
    """Who holds each job, and until when: the claims and leases of notebook 09.

    Columns ``id, status, attempts, claim, claimed_by, lease_expires_at, retry_at,
    last_error``, one row per job in creation order. ``claim`` numbers the job's claims (0:
    never claimed) and ``claimed_by`` names the worker of the latest one. A processing job's
    ``lease_expires_at`` is when it counts as lost unless that worker sends a heartbeat; a
    failed job's ``retry_at`` is the earliest time the sweeper may retry it. Both are times
    in the store's clock, so they are the same on every run only with a clock that is, such
    as ``ManualClock``; they are ``None`` for jobs they do not apply to.
    """
    rows = [
        (
            job.id,
            _status(job.status),
            job.attempts,
            job.claim,
            job.claimed_by,
            job.lease_expires_at,
            job.retry_at,
            job.last_error,
        )
        for job in store.list_jobs()
    ]
    columns = (
        "id",
        "status",
        "attempts",
        "claim",
        "claimed_by",
        "lease_expires_at",
        "retry_at",
        "last_error",
    )
    times = {"claimed_by", "lease_expires_at", "retry_at", "last_error"}
    return frame_from_rows(rows, columns, may_be_none=times)


def transitions_table(
    store: InMemoryJobStore,
    *,
    job_id: str | None = None,
    refused_only: bool = False,
    times: bool = False,
    claims: bool = False,
) -> pd.DataFrame:
    """The audit log as a table: every change anyone asked for, accepted or refused.

    Columns ``step, job_id, from, to, accepted, actor, detail``. ``step`` is the entry's
    position in the whole log, so it still says "when" after you filter by ``job_id`` or keep
    only the refusals. ``from`` is ``None`` for the entry that created the job. With
    ``times=True`` an ``at_ms`` column adds milliseconds since the store was made; it differs
    from run to run, which is why it is off by default. With ``claims=True`` a ``claim``
    column, before ``detail``, says which claim each change was made under (``None`` for
    changes made under none), which is what tells a late report from the claim it lost to.
    """
    if job_id is not None:
        store.get_job(job_id)
    rows = []
    for step, entry in enumerate(_log(store)):
        if job_id is not None and entry.job_id != job_id:
            continue
        if refused_only and entry.accepted:
            continue
        row = (
            step,
            entry.job_id,
            _status_or_none(entry.from_status),
            _status(entry.to_status),
            entry.accepted,
            entry.actor,
            *((entry.claim,) if claims else ()),
            entry.detail,
        )
        rows.append((*row, _ms(entry.at)) if times else row)
    columns = ("step", "job_id", "from", "to", "accepted", "actor")
    columns += ("claim", "detail") if claims else ("detail",)
    return frame_from_rows(
        rows, _with_times(columns, times, "at_ms"), may_be_none={"from", "claim", "detail"}
    )


def attempts_table(
    store: InMemoryJobStore, *, times: bool = False, leases: bool = False
) -> pd.DataFrame:
    """One row per attempt of every job, rebuilt from the audit log.

    Columns ``job_id, attempt, worker, outcome, error``: an attempt starts when a worker's
    claim is accepted and ends with the outcome that worker signalled (``completed``,
    ``failed``, or ``in progress`` if it has not signalled yet), with ``released`` when the
    worker gave the job back as it stopped, or with the sweeper failing it because its lease
    ran out (``failed``, and the error says so). ``attempt`` is the claim number, so a
    released attempt keeps its number although the store did not count it. Jobs come in
    creation order, attempts in order. ``times=True`` adds ``started_ms`` and ``finished_ms``;
    ``leases=True`` adds ``lease_s``, the lease granted with the claim, and ``lease_expired``,
    whether the attempt ended because that lease ran out.
    """
    rows = [
        (a.job_id, a.number, a.worker, a.outcome, a.error)
        + ((_ms(a.started), _ms_or_none(a.finished)) if times else ())
        + ((a.lease, a.lease_expired) if leases else ())
        for a in attempts_in(_log(store))
    ]
    columns = ("job_id", "attempt", "worker", "outcome", "error")
    columns = _with_times(columns, times, "started_ms", "finished_ms")
    return frame_from_rows(
        rows,
        _with_times(columns, leases, "lease_s", "lease_expired"),
        may_be_none={"error", "finished_ms", "lease_s"},
    )


def job_history(store: InMemoryJobStore, job_id: str, *, times: bool = False) -> pd.DataFrame:
    """The attempts of one job: ``attempt, worker, outcome, error`` (and times if asked).

    Raises ``JobNotFound`` for an id the store does not know.
    """
    store.get_job(job_id)
    table = attempts_table(store, times=times)
    mine = table[table["job_id"] == job_id].drop(columns="job_id")
    return mine.reset_index(drop=True)


def summary_table(store: InMemoryJobStore) -> pd.DataFrame:
    """A run in a few numbers, one measure per row (index ``measure``, column ``value``).

    ``attempts`` counts every claim; ``retries`` counts the sweeper's ``failed -> pending``
    moves; ``permanent failures`` are failed jobs that will never be retried (no attempts
    left, or failed with ``PermanentFailure``: the dead letters); ``refused changes``
    are requests the store turned down (a correct run has few or none). A store that keeps no
    audit log, like the broken variants', gets only the rows its jobs can tell.
    """
    jobs = _jobs(store)
    log = store.transitions() if keeps_audit_log(store) else None
    statuses = Counter(_status(job.status) for job in jobs)
    measures = {
        "jobs": len(jobs),
        **{status.value: statuses[status.value] for status in JobStatus},
        "attempts": sum(job.attempts for job in jobs),
    }
    if log is not None:
        measures["retries"] = sum(1 for t in log if t.accepted and _is_retry(t))
    measures["permanent failures"] = sum(
        1 for job in jobs if _status(job.status) == "failed" and not _will_retry(job)
    )
    if log is not None:
        measures["refused changes"] = sum(1 for t in log if not t.accepted)
    index = pd.Index(list(measures), name="measure")
    return pd.DataFrame({"value": list(measures.values())}, index=index)


def attempts_per_job(store: InMemoryJobStore) -> pd.DataFrame:
    """How hard each job was tried: ``id, attempts, retries, status``, in creation order.

    ``retries`` counts the sweeper's ``failed -> pending`` moves for that job, so a job that
    succeeded first time has 1 attempt and 0 retries.
    """
    retries = Counter(t.job_id for t in _log(store) if t.accepted and _is_retry(t))
    rows = [(job.id, job.attempts, retries[job.id], _status(job.status)) for job in _jobs(store)]
    return frame_from_rows(rows, ("id", "attempts", "retries", "status"))


def status_counts_over_time(store: InMemoryJobStore, *, times: bool = False) -> pd.DataFrame:
    """How many jobs were in each status after every accepted change in the audit log.

    Columns ``step, pending, processing, completed, failed``, one row per accepted change,
    where ``step`` is the change's position in the log. ``times=True`` adds ``at_ms``, which
    is what ``charts.status_over_time`` plots.
    """
    counts = Counter({status: 0 for status in JobStatus})
    rows = []
    for step, entry in enumerate(_log(store)):
        if not entry.accepted:
            continue
        if entry.from_status is not None:
            counts[entry.from_status] -= 1
        counts[entry.to_status] += 1
        rows.append((step, *counts.values()) + ((_ms(entry.at),) if times else ()))
    columns = ("step", *(status.value for status in JobStatus))
    return frame_from_rows(rows, _with_times(columns, times, "at_ms"))


def transition_counts(store: InMemoryJobStore) -> pd.DataFrame:
    """How often each change was asked for: ``from, to, accepted, refused``.

    One row per (from, to) pair that appears in the audit log, in status order, with
    ``from`` ``None`` for creations. This is the data behind ``charts.transition_matrix``.
    """
    accepted: Counter[tuple[JobStatus | None, JobStatus]] = Counter()
    refused: Counter[tuple[JobStatus | None, JobStatus]] = Counter()
    for entry in _log(store):
        pair = (entry.from_status, entry.to_status)
        (accepted if entry.accepted else refused)[pair] += 1
    order = [None, *JobStatus]
    pairs = sorted(
        set(accepted) | set(refused), key=lambda p: (order.index(p[0]), order.index(p[1]))
    )
    rows = [(_status_or_none(a), _status(b), accepted[(a, b)], refused[(a, b)]) for a, b in pairs]
    return frame_from_rows(rows, ("from", "to", "accepted", "refused"), may_be_none={"from"})


class StableStyler(Styler):
    """A pandas ``Styler`` whose plain-text form is the same on every run.

    A plain ``Styler`` prints as ``<...Styler object at 0x7f...>``: a memory address, which
    changes every run and would make a stored notebook output differ each time.
    """

    def __repr__(self) -> str:
        rows, columns = self.data.shape
        return f"<styled table: {rows} rows x {columns} columns>"


def keeps_audit_log(store: object) -> bool:
    """True when ``store`` keeps an audit log (``transitions()``), as the real store does.

    The broken variants' stores keep none, so the tables and charts built from the log can
    only say that there is no history to show.
    """
    return callable(getattr(store, "transitions", None))


def frame_from_rows(
    rows: Sequence[tuple], columns: Sequence[str], *, may_be_none: Collection[str] = ()
) -> pd.DataFrame:
    """Build a table from rows, keeping ``None`` as ``None`` in the columns named in
    ``may_be_none``.

    pandas 3 stores text in its string type, which turns ``None`` into NaN. The course uses
    ``None`` for "no error", so those columns stay ordinary Python objects. Every table of
    the course, here and in ``comparison``, is built this way.
    """
    values = list(zip(*rows)) if rows else [() for _ in columns]
    return pd.DataFrame(
        {
            name: pd.Series(list(column), dtype=object if name in may_be_none else None)
            for name, column in zip(columns, values)
        }
    )


# --- small helpers ----------------------------------------------------------------------------


def _jobs(source: InMemoryJobStore | Iterable[Job]) -> list[Job]:
    """The jobs of a store (anything with ``list_jobs``), or the jobs you passed in."""
    list_jobs = getattr(source, "list_jobs", None)
    if callable(list_jobs):
        return list(list_jobs())
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        raise TypeError(f"expected a job store or a list of jobs, got {type(source).__name__}")
    return list(source)


def _log(store: InMemoryJobStore) -> list[Transition]:
    """The store's audit log; a clear ``TypeError`` for a store that keeps none."""
    if not keeps_audit_log(store):
        raise TypeError(
            f"{type(store).__name__} keeps no audit log (it has no transitions()), so this "
            "table cannot be built from it; jobs_table and failed_jobs_table still work"
        )
    return store.transitions()


def _with_times(columns: tuple[str, ...], times: bool, *time_columns: str) -> tuple[str, ...]:
    return columns + time_columns if times else columns


def _status(status: JobStatus | str) -> str:
    return parse_status(status).value


def _status_or_none(status: JobStatus | str | None) -> str | None:
    return None if status is None else _status(status)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _ms_or_none(seconds: float | None) -> float | None:
    return None if seconds is None else _ms(seconds)


def _will_retry(job: Job) -> bool:
    """Whether the sweeper may retry this failed job: the one retry rule, ``may_retry``."""
    return may_retry(JobStatus.FAILED, job.attempts, job.max_retries, job.permanent)


def _why_dead(job: Job) -> str:
    return PERMANENT if job.permanent else OUT_OF_ATTEMPTS


def _is_retry(entry: Transition) -> bool:
    return entry.from_status is JobStatus.FAILED and entry.to_status is JobStatus.PENDING


def _shade_failed_row(row: pd.Series) -> list[str]:
    shade = f"background-color: {FAILED_ROW_COLOUR}" if row["status"] == "failed" else ""
    return [shade] * len(row)


def _content_id(frame: pd.DataFrame) -> str:
    """A short id that depends only on the table's content: stable, yet distinct per table.

    Two styled tables in one notebook must not share an id, or the CSS of one would colour
    the rows of the other.
    """
    return "jobs_" + hashlib.sha256(frame.to_csv().encode()).hexdigest()[:10]
