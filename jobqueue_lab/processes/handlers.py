"""Job handlers for worker processes: deterministic demo work, importable by name.

A worker process is told its handler as ``module:function`` (``python -m jobqueue_lab worker
--handler jobqueue_lab.processes.handlers:work``) and imports it. A function defined in a
notebook cannot travel to another process, so handlers for processes live in modules, like these.

Each handler reads its instructions from the job's payload, so whoever creates a job decides
what its runs will do:

* ``"seconds"``: pretend to work this long, heartbeating, and stop early if asked to;
* ``"fail"``: then fail with this message; ``"fail_until_attempt"``: fail every attempt before
  this one (a transient fault); ``"fail_for_good"``: fail permanently with this message;
* ``"release"`` (``hold`` only): keep the job until a file of this name exists;
* ``"runs"``: append a line ``job-id claim worker`` to this file at the start of every run, a
  record of who ran what that is kept apart from the store.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ..domain import Job
from ..errors import PermanentFailure
from ..failures import SimulatedFailure, WorkInterrupted, fail_until_attempt, simulated_work
from ..worker import heartbeat, heartbeat_interval, stop_requested

HOLD_POLL = 0.01
"""How often, in seconds, ``hold`` looks for its release file."""


def noop(job: Job) -> None:
    """Do nothing, successfully: the cheapest job there is."""


def work(job: Job) -> None:
    """Work ``payload["seconds"]`` (default 0), then fail if the payload says so."""
    note_run(job)
    payload = job.payload
    simulated_work(payload.get("seconds", 0))(job)
    if "fail_for_good" in payload:
        raise PermanentFailure(payload["fail_for_good"])
    if "fail" in payload:
        raise SimulatedFailure(payload["fail"])
    if "fail_until_attempt" in payload:
        message = fail_until_attempt(payload["fail_until_attempt"])(job)
        if message is not None:
            raise SimulatedFailure(message)


def hold(job: Job) -> None:
    """Keep the job until the file ``payload["release"]`` exists, heartbeating meanwhile.

    The job then lasts exactly as long as whoever made it wants, however fast or slow the
    machine is: a test or a notebook can kill the process that holds it at a moment it chooses.
    """
    note_run(job)
    release = Path(job.payload["release"])
    stop = stop_requested()
    beat = heartbeat_interval() or HOLD_POLL
    next_beat = time.monotonic() + beat
    while not release.exists():
        if stop.wait(HOLD_POLL):
            raise WorkInterrupted("stopped while holding the job: the worker is stopping")
        if time.monotonic() >= next_beat:
            if not heartbeat():
                raise WorkInterrupted("lost the job: its lease ran out and another claim holds it")
            next_beat = time.monotonic() + beat


def note_run(job: Job) -> None:
    """Append ``job-id claim worker`` to the file ``payload["runs"]``, if the payload names one.

    One short write in append mode: lines written at once by many processes never mix.
    """
    runs = job.payload.get("runs")
    if runs is None:
        return
    line = f"{job.id} {job.claim} {threading.current_thread().name}\n"
    fd = os.open(runs, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_runs(path: str | os.PathLike[str]) -> list[tuple[str, int, str]]:
    """The runs ``note_run`` wrote to ``path``, as ``(job id, claim, worker)``, in order."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    runs = []
    for line in text.splitlines():
        job_id, claim, worker = line.split(" ", 2)
        runs.append((job_id, int(claim), worker))
    return runs
