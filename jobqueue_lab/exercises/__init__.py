"""Checks for the notebook exercises: each one says, in plain words, what is still wrong.

A check takes the learner's code, tries it, and returns a list of problems (plain-English
strings); an empty list means solved. ``report(problems)`` prints the verdict. A check never
raises because of the learner's code: an exception from that code becomes one more problem,
so a notebook runs top to bottom even while its exercises are unsolved.

How an exercise is wired into a notebook (the notebook tests rely on this convention):

1. The starter cell is a code cell tagged ``exercise-starter`` whose metadata also names its
   check: ``{"tags": ["exercise-starter"], "exercise": "check_is_legal_path"}``. It is
   self-contained (it imports what it uses) and runnable as shipped; it defines the names the
   check takes as parameters (here ``is_legal_path``).
2. The next cell calls the check and reports, e.g. ``report(check_is_legal_path(is_legal_path))``.
   As shipped, it prints "Not solved yet: ...".
3. The worked solution lives in ``notebooks/solutions/NN_<name>.py``, where ``NN`` is the
   notebook's number (one module per notebook, covering all its exercises). It defines the
   same names as the starter cells, and the check returns no problems for them.
4. The check is a function of this module whose parameter names are those names, so a test
   can exec the starter, import the solution, and call the check with either.

Checks for notebooks 00-03 come first; those for 04-07 follow the marked line at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..checks import find_violations
from ..domain import Job, JobStatus, can_transition
from ..failures import simulated_work
from ..pool import WorkerPool
from ..store import InMemoryJobStore

Problems = list[str]

SOLVED = "Solved: every check passed."
NOT_SOLVED = "Not solved yet:"


def report(problems: Sequence[str], *, solved: str = SOLVED) -> None:
    """Print the verdict of a check: "Solved: ..." or "Not solved yet:" and each problem."""
    if not problems:
        print(solved)
        return
    print(NOT_SOLVED)
    for problem in problems:
        print(f"  - {problem}")


def attempt(
    function: Callable[..., Any], *args: Any, call: str | None = None
) -> tuple[Any, str | None]:
    """Call the learner's ``function``: ``(result, None)``, or ``(None, problem)`` if it raised.

    ``call`` is how the notebook writes the call (``"sweep(store, enqueue)"``); without it the
    problem shows the arguments briefly, never with a memory address, since the message ends
    up in a stored notebook output.
    """
    name = getattr(function, "__name__", None) or (call or "your function").split("(")[0]
    if not callable(function):
        return None, f"{name} is not a function (it is a {type(function).__name__})"
    try:
        return function(*args), None
    except Exception as exc:
        shown = call or f"{name}({', '.join(_short(arg) for arg in args)})"
        return None, f"{shown} raised {type(exc).__name__}: {exc}"


def _short(arg: Any) -> str:
    """A brief, reproducible description of an argument for a problem message."""
    if isinstance(arg, Job):
        return f"<{arg.type} job {arg.id}>"
    if isinstance(arg, InMemoryJobStore):
        return "store"
    if callable(arg):
        return f"<function {getattr(arg, '__name__', type(arg).__name__)}>"
    shown = repr(arg)
    return f"<{type(arg).__name__}>" if " at 0x" in shown else shown


def limited(problems: Problems, most: int = 4) -> Problems:
    """The first ``most`` problems, and a line saying how many more there were."""
    if len(problems) <= most:
        return problems
    return [*problems[:most], f"... and {len(problems) - most} more like these"]


def _settled_store(run: Callable[[], Any], name: str) -> tuple[InMemoryJobStore | None, Problems]:
    store, problem = attempt(run)
    if problem is not None:
        return None, [problem]
    if not isinstance(store, InMemoryJobStore):
        return None, [f"{name}() should return the pool's store, but returned {store!r}"]
    return store, []


def _violations(store: InMemoryJobStore) -> Problems:
    found = find_violations(store.list_jobs(), store.transitions())
    return [f"{v.invariant}: {v.job_id} {v.detail}" for v in found]


# --- notebook 00: start here ---------------------------------------------------------------


def check_first_run(first_run: Callable[[], InMemoryJobStore]) -> Problems:
    """Notebook 00: a run of three "report" jobs and two "email" jobs, emails always failing.

    ``first_run()`` returns the store after the run: five jobs, emails failed after two
    attempts each, reports completed after one, and no invariant broken.
    """
    store, problems = _settled_store(first_run, "first_run")
    if store is None:
        return problems
    jobs = store.list_jobs()
    types = sorted(job.type for job in jobs)
    if types != ["email", "email", "report", "report", "report"]:
        problems.append(f"expected 3 report jobs and 2 email jobs, found types {types}")
    for job in jobs:
        if job.type == "email" and (job.status, job.attempts) != (JobStatus.FAILED, 2):
            problems.append(
                f"{job.id} (email) is {job.status.value} after {job.attempts} attempt(s): "
                "email jobs should fail, and be tried twice in all (max_retries=2)"
            )
        if job.type == "report" and (job.status, job.attempts) != (JobStatus.COMPLETED, 1):
            problems.append(
                f"{job.id} (report) is {job.status.value} after {job.attempts} attempt(s): "
                "reports should complete on their first attempt"
            )
    problems += _violations(store)
    return limited(problems)


# --- notebook 01: the state machine --------------------------------------------------------

_PATH_CASES: tuple[tuple[JobStatus, ...], ...] = (
    (),
    (JobStatus.PENDING,),
    (JobStatus.PENDING, JobStatus.PROCESSING),
    (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.COMPLETED),
    (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED),
    (
        JobStatus.PENDING,
        JobStatus.PROCESSING,
        JobStatus.FAILED,
        JobStatus.PENDING,
        JobStatus.PROCESSING,
        JobStatus.COMPLETED,
    ),
    (JobStatus.PENDING, JobStatus.COMPLETED),
    (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.PENDING),
    (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.COMPLETED, JobStatus.PENDING),
    (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED, JobStatus.PROCESSING),
    (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.PROCESSING),
    (JobStatus.FAILED, JobStatus.PENDING),
    (JobStatus.COMPLETED, JobStatus.FAILED),
)


def _path_text(path: Sequence[JobStatus]) -> str:
    return " -> ".join(status.value for status in path) or "an empty path"


def _first_illegal_step(path: Sequence[JobStatus]) -> str | None:
    for before, after in itertools.pairwise(path):
        if not can_transition(before, after):
            return f"{before.value} -> {after.value}"
    return None


def check_is_legal_path(is_legal_path: Callable[[list[JobStatus]], bool]) -> Problems:
    """Notebook 01: ``is_legal_path(path)`` says whether every step of a path is in the table.

    A path is a list of statuses; an empty path and a path of one status have no steps, so
    they are legal.
    """
    problems = []
    for case in _PATH_CASES:
        answer, problem = attempt(is_legal_path, list(case))
        if problem is not None:
            problems.append(problem)
            continue
        bad_step = _first_illegal_step(case)
        if answer is not (bad_step is None):
            why = f"{bad_step} is not in the table" if bad_step else "every step is in the table"
            problems.append(
                f"for {_path_text(case)} it returned {answer!r}, but {why}"
                + ("" if isinstance(answer, bool) else " (return True or False)")
            )
    return limited(problems)


# --- notebook 02: failure handling ---------------------------------------------------------

_REPORT_CASES: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("report", {"pages": 250}, True),
    ("report", {"pages": 101}, True),
    ("report", {"pages": 100}, False),
    ("report", {"pages": 3}, False),
    ("report", {}, False),
    ("email", {"pages": 500}, False),
    ("email", {"to": "ada@example.org"}, False),
)


def check_fail_big_reports(fail_big_reports: Callable[[Job], str | None]) -> Problems:
    """Notebook 02: a failure policy for report jobs of more than 100 pages.

    It returns a message (a non-empty str) for those jobs, and ``None`` for every other job,
    including jobs with no "pages" in their payload. It must be deterministic, and a pool run
    with it must keep every invariant.
    """
    store = InMemoryJobStore()
    problems = []
    for job_type, payload, should_fail in _REPORT_CASES:
        job = store.create_job(job_type, payload)
        described = f"the {job_type} job with payload {payload}"
        answers = []
        for _ in range(2):
            answer, problem = attempt(fail_big_reports, job)
            if problem is not None:
                problems.append(f"for {described}: {problem}")
                break
            answers.append(answer)
        if len(answers) < 2:
            continue
        answer = answers[0]
        if answers[0] != answers[1]:
            problems.append(f"for {described} it answered differently when asked twice")
        elif should_fail and not (isinstance(answer, str) and answer.strip()):
            problems.append(f"{described} should fail, with a message, but it returned {answer!r}")
        elif not should_fail and answer is not None:
            hint = " (no error is None, never an empty string)" if answer == "" else ""
            problems.append(f"{described} should succeed (return None) but got {answer!r}{hint}")
    if problems:
        return limited(problems)
    with WorkerPool(workers=2, handler=simulated_work(fail=fail_big_reports)) as pool:
        for job_type, payload, _ in _REPORT_CASES:
            pool.submit(job_type, payload, max_retries=1)
        if not pool.wait(timeout=10):
            return ["a pool run with your policy did not settle within 10 seconds"]
    return _violations(pool.store)


def check_report_outcome(
    report_outcome: Callable[[InMemoryJobStore, str, str | None], Any],
) -> Problems:
    """Notebook 02: ``report_outcome(store, job_id, error)`` signals a claimed job's outcome.

    ``error`` is ``None`` when the work succeeded (the job becomes completed) or the reason it
    failed (the job becomes failed, with that reason as ``last_error``). The store makes the change.
    """
    problems = []
    cases = ((None, JobStatus.COMPLETED), ("disk full", JobStatus.FAILED))
    for error, expected in cases:
        store = InMemoryJobStore()
        job = store.claim_job(store.create_job("report").id, actor="worker-1")
        _, problem = attempt(report_outcome, store, job.id, error)
        if problem is not None:
            problems.append(problem)
            continue
        after = store.get_job(job.id)
        call = f"report_outcome(store, {job.id!r}, {error!r})"
        if after.status is not expected:
            problems.append(
                f"after {call} the job is {after.status.value}; it should be {expected.value}"
            )
        elif after.last_error != error:
            problems.append(
                f"after {call} last_error is {after.last_error!r}; it should be {error!r}"
            )
    return problems


# --- notebook 03: retries and attempts -----------------------------------------------------


class _FailUntilPayload:
    """A policy reading its threshold from the job: attempts before ``succeeds_from`` fail."""

    def __call__(self, job: Job) -> str | None:
        if job.attempts < job.payload["succeeds_from"]:
            return f"temporary failure on attempt {job.attempts}"
        return None


def _real_outcomes(grid: Sequence[tuple[int, int]]) -> dict[tuple[int, int], tuple[str, int]]:
    """Run one job per (max_retries, succeeds_from) pair through a real pool; return outcomes."""
    handler = simulated_work(fail=_FailUntilPayload())
    with WorkerPool(workers=2, handler=handler, sweeper_interval=0.002) as pool:
        ids = {
            pair: pool.submit("sync", {"succeeds_from": pair[1]}, max_retries=pair[0]).id
            for pair in grid
        }
        pool.wait(timeout=10)
    outcomes = {}
    for pair, job_id in ids.items():
        job = pool.store.get_job(job_id)
        outcomes[pair] = (job.status.value, job.attempts)
    return outcomes


def check_predict_outcome(predict_outcome: Callable[[int, int], tuple[str, int]]) -> Problems:
    """Notebook 03: predict how a job ends without running it.

    ``predict_outcome(max_retries, succeeds_from)`` returns ``(status, attempts)`` for a job
    whose attempts fail until attempt number ``succeeds_from``. The check runs every case in a
    real pool and compares.
    """
    grid = [(m, s) for m in range(1, 5) for s in range(1, 6)]
    truth = _real_outcomes(grid)
    problems = []
    for max_retries, succeeds_from in grid:
        answer, problem = attempt(predict_outcome, max_retries, succeeds_from)
        if problem is not None:
            problems.append(problem)
            continue
        if isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], JobStatus):
            answer = (answer[0].value, answer[1])
        expected = truth[(max_retries, succeeds_from)]
        if answer != expected:
            problems.append(
                f"max_retries={max_retries}, succeeds from attempt {succeeds_from}: "
                f"you predicted {answer!r}, the run gave {expected!r}"
            )
    return limited(problems, most=3)


def check_celery_max_retries(celery_max_retries: Callable[[int], int]) -> Problems:
    """Notebook 03: translate this course's ``max_retries`` (attempts in total) into Celery's.

    Celery counts retries after the first run, so a job allowed ``n`` runs in total has
    ``max_retries=n - 1`` there.
    """
    problems = []
    for total in range(1, 7):
        answer, problem = attempt(celery_max_retries, total)
        if problem is not None:
            problems.append(problem)
        elif answer != total - 1:
            problems.append(
                f"celery_max_retries({total}) returned {answer!r}: with Celery's max_retries="
                f"{answer!r} a job may run {answer + 1 if isinstance(answer, int) else '?'} "
                f"times, not {total}"
            )
    return limited(problems, most=3)


# --- notebooks 04-07 ---


# --- notebook 04: the sweeper --------------------------------------------------------------


def _sweep_policy(job: Job) -> str | None:
    """email always fails; sync fails its first attempt only; every other job works."""
    if job.type == "email":
        return "mail server did not answer"
    if job.type == "sync" and job.attempts < 2:
        return f"remote busy on attempt {job.attempts}"
    return None


_SWEEP_JOBS: tuple[tuple[str, int, JobStatus, int], ...] = (
    ("report", 3, JobStatus.COMPLETED, 1),
    ("email", 2, JobStatus.FAILED, 2),
    ("sync", 3, JobStatus.COMPLETED, 2),
)
"""The jobs the sweep check runs: type, max_retries, and the status and attempts they end with."""


def _recording_queue() -> tuple[list[object], Callable[[str], bool]]:
    """An ``enqueue`` that writes down every id it is given (and always accepts it)."""
    queued: list[object] = []

    def enqueue(job_id: str) -> bool:
        queued.append(job_id)
        return True

    return queued, enqueue


def _work_by_hand(store: InMemoryJobStore, job_id: object) -> str | None:
    """Play a worker on one queued id: claim, run, signal. Returns a problem, if there is one."""
    if not isinstance(job_id, str):
        return f"enqueue was given {_short(job_id)}; give it the job's id (job.id)"
    if job_id not in {job.id for job in store.list_jobs()}:
        return f"enqueue was given {job_id!r}, which is not the id of any job"
    job = store.claim_job(job_id, actor="worker-1")
    if job is None:
        status = store.get_job(job_id).status.value
        return f"{job_id} was queued while it was {status}: queue pending jobs only"
    error = _sweep_policy(job)
    if error is None:
        store.update_status(job_id, JobStatus.COMPLETED, actor="worker-1")
    else:
        store.update_status(job_id, JobStatus.FAILED, error, actor="worker-1")
    return None


def check_sweep(sweep: Callable[[InMemoryJobStore, Callable[[str], bool]], Any]) -> Problems:
    """Notebook 04: ``sweep(store, enqueue)`` is one pass of a sweeper, written by hand.

    The check plays the workers. Each round it calls ``sweep`` once, then claims, runs and
    reports every id the sweep queued, for eight rounds (a sweeper keeps sweeping after the
    work is done). Every job must settle the way its failures dictate; no id may be queued
    twice in one sweep, or queued when it is not pending; and the run must keep every invariant.
    """
    store = InMemoryJobStore()
    for job_type, max_retries, _, _ in _SWEEP_JOBS:
        store.create_job(job_type, max_retries=max_retries)
    problems: Problems = []
    rounds = 8
    for _ in range(rounds):
        queued, enqueue = _recording_queue()
        _, problem = attempt(sweep, store, enqueue, call="sweep(store, enqueue)")
        if problem is not None:
            return [problem]
        done: list[object] = []
        for job_id in queued:
            if job_id in done:
                problems.append(f"{job_id} was queued twice in one sweep: once is enough")
                continue
            done.append(job_id)
            problem = _work_by_hand(store, job_id)
            if problem is not None:
                problems.append(problem)
        if problems:
            break
    for job, (_, _, status, attempts) in zip(store.list_jobs(), _SWEEP_JOBS):
        if (job.status, job.attempts) == (status, attempts):
            continue
        if job.can_retry:
            why = "a failed job with attempts left should go back to pending"
        elif job.status is JobStatus.PENDING:
            why = "every pending job should be put on the queue"
        else:
            why = f"it should end {status.value} after {attempts} attempt(s)"
        problems.append(
            f"{job.id} ({job.type}) is {job.status.value} with {job.attempts} of "
            f"{job.max_retries} attempts used after {rounds} rounds: {why}"
        )
    if not problems:
        problems = _violations(store)
    return limited(list(dict.fromkeys(problems)))


# --- notebook 05: atomic updates and races -------------------------------------------------

_RACERS = 4
"""How many threads the claim check sends at one job at the same moment."""

_PATIENCE = 5.0
"""Seconds the claim check waits for a call of ``claim`` to return."""

_CLAIM_CALL = "claim(statuses, lock, 'job-001')"
_HANGS = f"{_CLAIM_CALL} did not return within 5 seconds: does it take the lock twice?"


class _RaceWindow(dict):
    """A dict of statuses that holds every reader, once it has read, until all racers have read.

    After reading a status, a racer waits at a barrier for the others. Without a lock around
    "read, then write", every racer reads the old status before any of them writes, so the
    race happens on every run instead of once in a while. With the lock, only one racer can be
    between its read and its write: the barrier gives up after ``patience`` seconds and the
    racers go on one at a time, which is exactly what the lock is for.
    """

    def __init__(self, statuses: dict[str, str], racers: int, patience: float = 0.5) -> None:
        super().__init__(statuses)
        self._barrier = threading.Barrier(racers, timeout=patience)

    def __getitem__(self, key: str) -> str:
        status = super().__getitem__(key)
        self._wait_for_the_others()
        return status

    def get(self, key: str, default: Any = None) -> Any:
        status = super().get(key, default)
        self._wait_for_the_others()
        return status

    def _wait_for_the_others(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            self._barrier.wait()


def _race(claim: Callable[..., Any], racers: int) -> tuple[list[Any], Problems, str]:
    """Let ``racers`` threads claim job-001 at once; their answers, problems, final status."""
    statuses = _RaceWindow({"job-001": "pending"}, racers)
    lock = threading.Lock()
    answers: list[Any] = []
    problems: Problems = []

    def racer() -> None:
        answer, problem = attempt(claim, statuses, lock, "job-001", call=_CLAIM_CALL)
        answers.append(answer)
        if problem is not None:
            problems.append(problem)

    threads = [threading.Thread(target=racer, daemon=True) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=_PATIENCE)
    if any(thread.is_alive() for thread in threads):
        problems.append(_HANGS)
    return answers, problems, dict.get(statuses, "job-001")


def _call_with_patience(
    claim: Callable[..., Any], statuses: dict[str, str], lock: threading.Lock
) -> tuple[Any, str | None]:
    """Call ``claim`` once on a thread of its own, so a claim that never returns is reported."""
    outcome: list[tuple[Any, str | None]] = []
    thread = threading.Thread(
        target=lambda: outcome.append(attempt(claim, statuses, lock, "job-001", call=_CLAIM_CALL)),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=_PATIENCE)
    return outcome[0] if outcome else (None, _HANGS)


def check_claim(claim: Callable[[dict[str, str], threading.Lock, str], bool]) -> Problems:
    """Notebook 05: ``claim(statuses, lock, job_id)`` claims a job safely from many threads.

    ``statuses`` maps job ids to status strings. ``claim`` moves a "pending" job to
    "processing" and returns True, or returns False and changes nothing when the job is not
    pending. Four threads then claim one pending job at the same moment, with the race window
    held open: exactly one may win, however often it is tried.
    """
    problems: Problems = []
    for status, expected in (("pending", True), ("completed", False), ("failed", False)):
        statuses = {"job-001": status}
        answer, problem = _call_with_patience(claim, statuses, threading.Lock())
        after = statuses.get("job-001")
        wanted = "processing" if expected else status
        if problem == _HANGS:
            return [problem]
        if problem is not None:
            problems.append(problem)
        elif answer is not expected or after != wanted:
            problems.append(
                f"claiming a {status} job returned {answer!r} and left it {after}; "
                f"it should return {expected} and leave it {wanted}"
            )
    if problems:
        return problems
    for _ in range(3):
        answers, problems, final = _race(claim, _RACERS)
        if problems:
            return limited(list(dict.fromkeys(problems)))
        winners = sum(1 for answer in answers if answer is True)
        if winners != 1:
            return [
                f"{_RACERS} workers claimed job-001 at the same moment and "
                f"{'none' if winners == 0 else 'more than one'} of them won; exactly one may. "
                "Read the status and change it under one lock."
            ]
        if final != "processing":
            return [f"after the race job-001 is {final}; the winner should leave it processing"]
    return []


# --- notebook 06: broken vs correct --------------------------------------------------------


def _jobs_with_every_kind_of_error() -> list[Job]:
    """Six jobs, stepped by hand, covering every way ``last_error`` can look.

    Completed with no error; failed for good with a two-line error; completed after a failed
    attempt (its old error kept); pending again after a failure (error kept); never run; and
    failed with attempts left.
    """
    store = InMemoryJobStore()
    outcomes: tuple[tuple[str, int, tuple[str | None, ...], bool], ...] = (
        ("report", 3, (None,), False),
        ("email", 1, ("mailbox full\nthe server said 552",), False),
        ("sync", 3, ("remote busy", None), False),
        ("sync", 3, ("remote busy",), True),
        ("report", 3, (), False),
        ("email", 3, ("mail server did not answer",), False),
    )
    for job_type, max_retries, attempts, retry_at_the_end in outcomes:
        job_id = store.create_job(job_type, max_retries=max_retries, actor="exercise").id
        for number, error in enumerate(attempts):
            if number:
                store.retry_failed_jobs(actor="sweeper")
            store.claim_job(job_id, actor="worker-1")
            status = JobStatus.COMPLETED if error is None else JobStatus.FAILED
            store.update_status(job_id, status, error, actor="worker-1")
        if retry_at_the_end:
            store.retry_failed_jobs(actor="sweeper")
    return store.list_jobs()


def check_failure_lines(failure_lines: Callable[[list[Job]], list[str]]) -> Problems:
    """Notebook 06: ``failure_lines(jobs)`` reports the jobs that are failed, one line each.

    Each line reads ``"<id>: <first line of last_error>"``, in the order the jobs come. Jobs
    that are not failed get no line, even when ``last_error`` still holds the reason an earlier
    attempt failed: the status says whether a job failed, ``last_error`` only says why.
    """
    jobs = _jobs_with_every_kind_of_error()
    answer, problem = attempt(failure_lines, list(jobs), call="failure_lines(jobs)")
    if problem is not None:
        return [problem]
    if not isinstance(answer, list) or not all(isinstance(line, str) for line in answer):
        return [f"failure_lines should return a list of str, but returned {answer!r}"]
    wanted = {
        job.id: f"{job.id}: {job.last_error.splitlines()[0]}"
        for job in jobs
        if job.status is JobStatus.FAILED and job.last_error is not None
    }
    problems: Problems = []
    for job in jobs:
        mine = [line for line in answer if line.split(":")[0].strip() == job.id]
        if job.id in wanted:
            if not mine:
                problems.append(f"no line for {job.id}, which is failed: {wanted[job.id]!r}")
            elif mine != [wanted[job.id]]:
                problems.append(f"for {job.id} expected {wanted[job.id]!r}, got {mine}")
        elif mine:
            why = f"{job.id} is {job.status.value}"
            if job.last_error is not None:
                why += " (its last_error is left over from an earlier attempt)"
            problems.append(f"{why}, so it gets no line; got {mine}")
    if not problems and answer != list(wanted.values()):
        problems.append(f"expected exactly {list(wanted.values())}, got {answer}")
    return limited(problems)


# --- notebook 07: the dashboard ------------------------------------------------------------

DASHBOARD_JOBS = 12
"""How many jobs the dashboard exercise asks for."""


def check_configure(configure: Callable[[Any], Any]) -> Problems:
    """Notebook 07: ``configure(dash)`` sets a ``Dashboard``'s controls from code.

    Wanted: a run of twelve jobs in which every job completes in the end, although some
    attempts fail on the way (so the sweeper has retries to do), with the correct worker and
    at most 0.05 handler seconds so the check is quick. The check makes its own dashboard,
    applies ``configure``, presses Run from code, and reads the store afterwards.
    """
    from ..views.dashboard import CORRECT_WORKER, Dashboard  # only this check needs ipywidgets

    dash = Dashboard(refresh_seconds=0.05, time_limit=10)
    _, problem = attempt(configure, dash, call="configure(dash)")
    if problem is not None:
        return [problem]
    settings = dash.settings()
    problems: Problems = []
    if settings.jobs != DASHBOARD_JOBS:
        problems.append(f"the run has {settings.jobs} jobs; set dash.jobs.value to 12")
    if settings.handler_seconds > 0.05:
        problems.append(
            f"handler seconds is {settings.handler_seconds}; keep it at 0.05 or less "
            "so the check runs quickly"
        )
    if settings.worker != CORRECT_WORKER:
        problems.append(f"use the correct worker ({CORRECT_WORKER!r}) for this exercise")
    if problems:
        return problems
    dash.run()
    if not dash.wait(timeout=20) or dash.state.value != "finished":
        dash.stop()
        dash.wait(timeout=5)
        return ["the run did not finish: with these settings the jobs did not all settle"]
    store = dash.store
    failed_attempts = sum(
        1 for t in store.transitions() if t.accepted and t.to_status is JobStatus.FAILED
    )
    for job in store.get_failed_jobs():
        problems.append(
            f"{job.id} ({job.type}) failed for good after {job.attempts} attempt(s): "
            f"{job.last_error}"
        )
    if failed_attempts == 0:
        problems.append(
            "no attempt failed, so the sweeper had nothing to retry: choose a failure "
            "policy under which some attempts fail"
        )
    if not problems:
        problems = _violations(store)
    return limited(problems)
