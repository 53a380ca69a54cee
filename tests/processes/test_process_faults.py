"""Worker processes when something goes wrong around them: a pool started from a thread that
ends, a URL with a password, a handler or a URL no process could use, a process that dies on
its own, a bad stop timeout, a frozen process at stop, bad arguments to the worker command.

Real processes and real signals throughout; every wait has a deadline.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobqueue_lab import COMPLETED, PENDING, PROCESSING
from jobqueue_lab.processes.workers import ProcessWorkers, WorkerProcessExited
from tests.processes.test_worker_processes import DEADLINE, held_job, release, wait_for_runs
from tests.support import run_with_deadline, wait_for

pytestmark = pytest.mark.processes

HOLD = "jobqueue_lab.processes.handlers:hold"
NOOP = "jobqueue_lab.processes.handlers:noop"
PASSWORD = "hunter2"


def with_password(url: str) -> str:
    """``url`` with a password in it, where the store has one (PostgreSQL). The test server
    trusts its local users, so it never asks for the password: the URL still works."""
    return url.replace("@", f":{PASSWORD}@", 1) if url.startswith("postgresql://") else url


def command_line(pid: int) -> list[str]:
    """The arguments of the process ``pid``, as any user of the machine can read them."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def state(pid: int) -> str:
    """The state letter of the process ``pid``: R running, S sleeping, T stopped, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def run_command(*arguments: str, environment: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "jobqueue_lab", *arguments],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=environment,
    )


# --- a pool started from a thread ------------------------------------------------------------


def test_workers_started_from_a_thread_that_ends_keep_running(make_sql_store, tmp_path):
    store = make_sql_store()
    url = make_sql_store.url(store)
    store.create_job("first", {"runs": str(tmp_path / "runs")})
    started = []

    def start_workers_and_see_them_run_a_job():
        started.append(ProcessWorkers(url, processes=1, sweeper_interval=None).start())
        wait_for_runs(tmp_path, 1)  # the process is up and has set itself to follow its parent

    run_with_deadline(start_workers_and_see_them_run_a_job, timeout=DEADLINE)
    [workers] = started
    try:
        later = store.create_job("later")
        assert wait_for(lambda: store.get_job(later.id).status is COMPLETED, timeout=DEADLINE)
        assert [process.running for process in workers.processes()] == [True]
    finally:
        assert workers.stop()


# --- a URL with a password -------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_processes_get_the_store_url_where_no_other_user_can_read_it(make_sql_store):
    store = make_sql_store()
    url = with_password(make_sql_store.url(store))
    with ProcessWorkers(url, processes=2) as workers:
        job = store.create_job("t")
        assert wait_for(lambda: store.get_job(job.id).status is COMPLETED, timeout=DEADLINE)
        for process in workers.processes():
            arguments = command_line(process.pid)
            assert "--store" not in arguments and url not in arguments
            assert not any(PASSWORD in argument for argument in arguments), arguments
        assert PASSWORD not in repr(workers)


MISTYPED = f"postgresq://jobs:{PASSWORD}@db.example/jobs"


def test_no_error_about_a_mistyped_url_shows_its_password():
    with pytest.raises(ValueError, match="unknown store URL") as refused:
        ProcessWorkers(MISTYPED)
    assert PASSWORD not in str(refused.value)
    for command in (["worker", "--handler", NOOP], ["sweeper"]):
        done = run_command(*command, "--store", MISTYPED)
        assert done.returncode == 2 and "unknown store URL 'postgresq://jobs:***@" in done.stderr
        assert PASSWORD not in done.stderr


# --- what no process could use is refused before any starts ----------------------------------


@pytest.mark.parametrize(
    ("handler", "error", "message"),
    [
        ("jobqueue_lab.processes.handlers", ValueError, "must look like module:function"),
        ("jobqueue_lab.processes.handlers:", ValueError, "must look like module:function"),
        ("jobqueue_lab.processes.handlers:nope", ValueError, "has no 'nope'"),
        ("no_such_module:work", ValueError, "No module named 'no_such_module'"),
        ("jobqueue_lab.processes.handlers:HOLD_POLL", TypeError, "handler must be callable"),
        (" ", ValueError, "handler must not be empty"),
        (None, TypeError, "handler must be a str, got NoneType"),
    ],
)
def test_a_handler_no_process_could_run_is_refused_at_once(tmp_path, handler, error, message):
    database = tmp_path / "jobs.db"
    with pytest.raises(error, match=message):
        ProcessWorkers(f"sqlite:///{database}", handler=handler)
    assert not database.exists()


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("sqlite:///", ValueError, "store URL 'sqlite:///' names no file"),
        ("sqlite:///:memory:", ValueError, "names no file"),
        ("sqlite://jobs.db", ValueError, "unknown store URL 'sqlite://jobs.db'"),
        ("memory://", ValueError, "must name a store that processes share"),
        ("postgresql://db.example/jobs?nonsense=1", ValueError, "invalid URI query parameter"),
        (None, TypeError, "a store URL must be a str, got NoneType"),
    ],
)
def test_a_url_no_process_could_open_is_refused_at_once(url, error, message):
    with pytest.raises(error, match=message):
        ProcessWorkers(url)


# --- a process that ends on its own is reported ----------------------------------------------


def test_a_process_that_ends_on_its_own_is_reported_by_the_next_stop(
    make_sql_store, tmp_path, monkeypatch
):
    # Importable here but not in the processes: a handler module in a notebook's own folder.
    (tmp_path / "notebook_handlers.py").write_text("def work(job):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    url = make_sql_store.url(make_sql_store())
    workers = ProcessWorkers(url, processes=1, handler="notebook_handlers:work").start()
    try:
        assert wait_for(lambda: not workers.processes()[0].running, timeout=DEADLINE)
        assert "process-1 (pid " in repr(workers) and "code 2 on its own" in repr(workers)
    finally:
        with pytest.raises(WorkerProcessExited) as exited:
            workers.stop()
    [process] = exited.value.exits
    assert (process.name, process.exit_code, process.on_its_own) == ("process-1", 2, True)
    report = str(exited.value)
    assert report.startswith(f"process-1 (pid {process.pid}) exited with code 2 on its own")
    assert "No module named 'notebook_handlers'" in report.splitlines()[-1]
    assert [(p.running, p.on_its_own) for p in workers.processes()] == [
        (False, True),
        (False, False),
    ], "the sweeper was stopped, when asked"
    assert workers.stop() is True, "a process that ended on its own is reported once"


def test_a_process_that_crashes_is_reported_by_the_next_start(
    make_sql_store, tmp_path, monkeypatch
):
    (tmp_path / "crashing.py").write_text(
        "import os\nimport sys\n\n\n"
        "def crash(job):\n"
        "    print('crashing on', job.id, file=sys.stderr, flush=True)\n"
        "    os._exit(3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    store = make_sql_store()
    job = store.create_job("t")
    workers = ProcessWorkers(
        make_sql_store.url(store), processes=1, handler="crashing:crash", sweeper_interval=None
    ).start()
    try:
        assert wait_for(lambda: not workers.processes()[0].running, timeout=DEADLINE)
        [crashed] = workers.processes()
        report = f"(?s)code 3 on its own.*crashing on {job.id}"
        with pytest.raises(WorkerProcessExited, match=report):
            workers.start()
        assert workers.processes() == [crashed], "nothing started before the report"
        [restarted] = workers.start().processes()
        assert restarted.running and restarted.pid != crashed.pid
    finally:
        assert workers.stop()
    assert store.get_job(job.id).status is PROCESSING, "its lease still runs"


# --- stop(): its timeout, and a frozen process -----------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "error"), [(math.nan, ValueError), (-1, ValueError), ("3", TypeError)]
)
def test_stop_with_a_bad_timeout_refuses_before_signalling_anything(
    make_sql_store, tmp_path, timeout, error
):
    store = make_sql_store()
    job = held_job(store, tmp_path)
    workers = ProcessWorkers(make_sql_store.url(store), processes=1, handler=HOLD).start()
    try:
        [(_, _, holder)] = wait_for_runs(tmp_path, 1)
        with pytest.raises(error, match="timeout must be a number of seconds"):
            workers.stop(timeout)
        assert [process.running for process in workers.processes()] == [True, True]
        release(tmp_path)
        assert wait_for(lambda: store.get_job(job.id).status is COMPLETED, timeout=DEADLINE)
    finally:
        assert workers.stop()
    done = store.get_job(job.id)
    assert (done.attempts, done.claim, done.claimed_by) == (1, 1, holder), "never interrupted"


def test_stop_without_a_time_limit_waits_for_every_process(make_sql_store, tmp_path):
    store = make_sql_store()
    job = held_job(store, tmp_path)
    workers = ProcessWorkers(make_sql_store.url(store), processes=1, handler=HOLD).start()
    wait_for_runs(tmp_path, 1)
    assert run_with_deadline(lambda: workers.stop(timeout=None), timeout=DEADLINE) is True
    assert [p.running for p in workers.processes()] == [False, False]
    assert store.get_job(job.id).status is PENDING, "released as it stopped"


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(3))
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stop_ends_a_frozen_process_and_it_releases_its_job(make_sql_store, tmp_path, repetition):
    store = make_sql_store()
    job = held_job(store, tmp_path)
    url = make_sql_store.url(store)
    workers = ProcessWorkers(url, processes=1, handler=HOLD, sweeper_interval=None).start()
    try:
        [(_, _, holder)] = wait_for_runs(tmp_path, 1)
        workers.kill(holder, signal.SIGSTOP)
        [frozen] = workers.processes()
        assert wait_for(lambda: state(frozen.pid) == "T", timeout=DEADLINE)
        stopped = workers.stop(timeout=DEADLINE / 2)
    finally:
        workers.stop()
    assert stopped is True, "ended by its SIGTERM, not by SIGKILL at the deadline"
    assert [p.exit_code for p in workers.processes()] == [0]
    released = store.get_job(job.id)
    assert (released.status, released.attempts, released.claim) == (PENDING, 0, 1)
    entry = store.transitions()[-1]
    assert (entry.actor, entry.detail) == (holder, f"released by {holder}: attempt 1 not counted")


# --- the worker command: every argument checked before the store is opened -------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["worker", "--handler", NOOP, "--sweeper", "--sweeper-interval", "-1"],
            "--sweeper-interval must be a number from 0 to 3600.0, got -1.0",
        ),
        (["sweeper", "--interval", "nan"], "--interval must be a number from 0 to 3600.0, got nan"),
        (["sweeper", "--parent-pid", "0"], "--parent-pid must be an int >= 1, got 0"),
        (["sweeper", "--log-level", "LOUD"], "argument --log-level: invalid choice: 'LOUD'"),
        (["worker", "--handler", NOOP, "--lease-seconds", "inf"], "--lease-seconds must be"),
        (["worker", "--handler", NOOP, "--name", " "], "--name must not be empty"),
        (["worker", "--handler", "no_such_module:f"], "No module named 'no_such_module'"),
    ],
)
def test_a_bad_argument_is_a_usage_error_and_creates_no_database(tmp_path, arguments, message):
    database = tmp_path / "jobs.db"
    done = run_command(*arguments, "--store", f"sqlite:///{database}")
    assert (done.returncode, done.stdout) == (2, "")
    assert "usage: " in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not database.exists()


def test_the_worker_command_reads_its_store_from_the_environment_or_says_it_has_none(tmp_path):
    environment = {"PATH": "", "JOBQUEUE_LAB_STORE": "sqlite:///"}
    done = run_command("sweeper", environment=environment)
    assert done.returncode == 2 and "store URL 'sqlite:///' names no file" in done.stderr
    done = run_command("sweeper", environment={"PATH": ""})
    assert done.returncode == 2
    assert "give the store's URL with --store or in $JOBQUEUE_LAB_STORE" in done.stderr


UNOPENABLE = (
    "import sys\n"
    "import jobqueue_lab.__main__ as command\n"
    "def unopenable(url, **options):\n"
    "    error = {'OSError': OSError, 'ValueError': ValueError}[sys.argv[1]]\n"
    "    raise error(f'{url}: no such folder')\n"
    "command.open_store = unopenable\n"
    "sys.exit(command.main(sys.argv[2:]))\n"
)


@pytest.mark.parametrize("error", ["OSError", "ValueError"])
def test_a_store_that_cannot_be_opened_is_a_usage_error(tmp_path, error):
    url = f"sqlite:///{tmp_path / 'missing' / 'jobs.db'}"
    done = subprocess.run(
        [sys.executable, "-c", UNOPENABLE, error, "sweeper", "--store", url],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"python -m jobqueue_lab: error: cannot open the store {url!r}: {url}: no such folder"
    )
    assert "Traceback" not in done.stderr
