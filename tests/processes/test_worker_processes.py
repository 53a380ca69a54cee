"""Worker processes on a store they share: no double claims, kill -9, late reports, restarts.

Every test here runs against SQLite and PostgreSQL (``make_sql_store``). Jobs that must be held
while a test acts use ``handlers.hold``, which keeps its job until a file appears, and every run
writes a line to a runs file (``handlers.note_run``): the tests wait on those files and on the
store, each wait with a deadline, and never on the clock alone.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from jobqueue_lab import COMPLETED, FAILED, PENDING, PROCESSING
from jobqueue_lab.checks import find_violations
from jobqueue_lab.processes.handlers import read_runs
from jobqueue_lab.processes.workers import ProcessWorkers
from tests.support import wait_for

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0
"""The longest any wait here may take, on the slowest machine, before the test fails."""


def held_job(store, folder: Path, **kwargs):
    """A job that ``handlers.hold`` keeps until ``folder / 'release'`` exists."""
    payload = {"release": str(folder / "release"), "runs": str(folder / "runs")}
    return store.create_job("held", payload, **kwargs)


def runs(folder: Path):
    return read_runs(folder / "runs")


def wait_for_runs(folder: Path, count: int) -> list:
    assert wait_for(lambda: len(runs(folder)) >= count, timeout=DEADLINE), runs(folder)
    return runs(folder)


def release(folder: Path) -> None:
    (folder / "release").touch()


# --- many processes, one store -------------------------------------------------------------


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(3))
def test_processes_that_start_claiming_at_once_never_claim_a_job_twice(
    make_sql_store, tmp_path, repetition
):
    store = make_sql_store()
    ids = [store.create_job("t").id for _ in range(300)]
    go = tmp_path / "go"
    contenders = []
    for n in range(4):
        files = [tmp_path / f"ready-{n}", go, tmp_path / f"claims-{n}"]
        command = [sys.executable, "-m", "tests.claim_race", make_sql_store.url(store), *files]
        contenders.append(subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL))
    try:
        assert wait_for(lambda: all((tmp_path / f"ready-{n}").exists() for n in range(4)), DEADLINE)
        go.touch()
        assert [process.wait(DEADLINE) for process in contenders] == [0] * 4
    finally:
        for process in contenders:
            process.kill()
    claims = [
        line.split()
        for n in range(4)
        for line in (tmp_path / f"claims-{n}").read_text().splitlines()
    ]
    assert sorted(job_id for job_id, _ in claims) == ids, "every job claimed exactly once"
    assert {claim for _, claim in claims} == {"1"}
    assert store.counts()[COMPLETED] == 300
    assert find_violations(store.list_jobs(), store.transitions()) == []
    assert [t for t in store.transitions() if not t.accepted] == []


@pytest.mark.stress
@pytest.mark.parametrize("repetition", range(2))
def test_worker_processes_run_every_job_once_and_retry_the_failures(
    make_sql_store, tmp_path, repetition
):
    store = make_sql_store()
    payload = {"runs": str(tmp_path / "runs")}
    ids = [
        store.create_job("t", {**payload, "fail_until_attempt": 2 if n % 4 == 0 else 1}).id
        for n in range(120)
    ]
    with ProcessWorkers(make_sql_store.url(store), processes=3, workers=2) as workers:
        assert store.wait_until_settled(timeout=DEADLINE)
    assert workers.stop()
    assert [p.exit_code for p in workers.processes()] == [0, 0, 0, 0]
    jobs = store.list_jobs()
    assert [(job.status, job.attempts) for job in jobs] == [
        (COMPLETED, 2 if n % 4 == 0 else 1) for n in range(120)
    ]
    seen = Counter((job_id, claim) for job_id, claim, _ in runs(tmp_path))
    assert set(seen.values()) == {1}, "no claim ran twice"
    assert sorted(seen) == sorted(
        (job.id, claim) for job in jobs for claim in range(1, job.attempts + 1)
    )
    assert {worker.split(".")[0] for _, _, worker in runs(tmp_path)} <= {
        "process-1",
        "process-2",
        "process-3",
    }
    assert find_violations(jobs, store.transitions(), created=ids) == []


# --- kill -9, a frozen worker, a stop ------------------------------------------------------


def test_a_job_whose_process_is_killed_is_recovered_after_its_lease_and_retried(
    make_sql_store, tmp_path
):
    store = make_sql_store()
    job = held_job(store, tmp_path)
    url = make_sql_store.url(store)
    with ProcessWorkers(
        url, processes=2, handler="jobqueue_lab.processes.handlers:hold", lease_seconds=1
    ) as workers:
        [(_, claim, holder)] = wait_for_runs(tmp_path, 1)
        assert (claim, store.get_job(job.id).claimed_by) == (1, holder)
        workers.kill(holder)
        killed = {p.name: p for p in workers.processes()}[holder.split(".")[0]]
        assert (killed.running, killed.exit_code) == (False, -signal.SIGKILL)
        second = wait_for_runs(tmp_path, 2)[1]
        assert second[1] == 2 and second[2].split(".")[0] != killed.name
        release(tmp_path)
        assert store.wait_until_settled(timeout=DEADLINE)
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim) == (COMPLETED, 2, 2)
    history = [(t.from_status, t.to_status, t.actor, t.claim) for t in store.transitions()]
    assert history[1:] == [
        (PENDING, PROCESSING, holder, 1),
        (PROCESSING, FAILED, "sweeper", 1),
        (FAILED, PENDING, "sweeper", None),
        (PENDING, PROCESSING, second[2], 2),
        (PROCESSING, COMPLETED, second[2], 2),
    ]
    expired = store.transitions()[2].detail
    assert expired == f"lease expired after 1.0 s: {holder} lost or stuck on attempt 1"
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_a_late_report_from_a_frozen_worker_is_fenced_off(make_sql_store, tmp_path):
    store = make_sql_store()
    job = held_job(store, tmp_path)
    url = make_sql_store.url(store)
    with ProcessWorkers(
        url, processes=2, handler="jobqueue_lab.processes.handlers:hold", lease_seconds=1
    ) as workers:
        [(_, _, zombie)] = wait_for_runs(tmp_path, 1)
        workers.kill(zombie, signal.SIGSTOP)  # frozen: no heartbeat, no report, no exit
        successor = wait_for_runs(tmp_path, 2)[1][2]
        release(tmp_path)
        assert wait_for(lambda: store.get_job(job.id).status is COMPLETED, timeout=DEADLINE)
        workers.kill(zombie, signal.SIGCONT)

        def zombie_refused():
            return [t for t in store.transitions() if not t.accepted and t.actor == zombie]

        assert wait_for(zombie_refused, timeout=DEADLINE)
    refused = zombie_refused()[0]
    assert (refused.claim, refused.from_status) == (1, COMPLETED)
    assert refused.detail.startswith("claim 1 ") and refused.detail.endswith(
        "after losing the job; the job is completed now"
    )
    final = store.get_job(job.id)
    assert (final.status, final.attempts, final.claim, final.claimed_by) == (
        COMPLETED,
        2,
        2,
        successor,
    )
    assert find_violations(store.list_jobs(), store.transitions()) == []


def test_a_stopped_process_releases_the_job_it_was_running(make_sql_store, tmp_path):
    store = make_sql_store()
    job = held_job(store, tmp_path, max_retries=1)
    url = make_sql_store.url(store)
    hold = "jobqueue_lab.processes.handlers:hold"
    workers = ProcessWorkers(url, processes=1, handler=hold).start()
    try:
        [(_, _, holder)] = wait_for_runs(tmp_path, 1)
    finally:
        assert workers.stop()
    released = store.get_job(job.id)
    assert (released.status, released.attempts, released.claim) == (PENDING, 0, 1)
    entry = store.transitions()[-1]
    assert (entry.actor, entry.detail) == (holder, f"released by {holder}: attempt 1 not counted")


# --- a restart: every process died, the store is opened again ------------------------------


def test_a_store_reopened_after_every_process_died_recovers_jobs_through_their_leases(
    make_sql_store, tmp_path
):
    store = make_sql_store()
    ids = [held_job(store, tmp_path).id for _ in range(2)]
    url = make_sql_store.url(store)
    workers = ProcessWorkers(
        url,
        processes=2,
        handler="jobqueue_lab.processes.handlers:hold",
        lease_seconds=1,
        sweeper_interval=None,
    ).start()
    try:
        holders = {job_id: worker for job_id, _, worker in wait_for_runs(tmp_path, 2)}
        for process in ("process-1", "process-2"):
            workers.kill(process)
    finally:
        workers.stop()
    store.close()  # the notebook's kernel is gone too

    reopened = make_sql_store.reopen(store)
    jobs = reopened.list_jobs()
    assert [(job.id, job.status, job.claim) for job in jobs] == [
        (job_id, PROCESSING, 1) for job_id in ids
    ], "every job is still there, and nothing was reset behind a lease that may be alive"
    recovered = []
    assert wait_for(
        lambda: recovered.extend(reopened.recover_expired_leases()) or len(recovered) == 2,
        timeout=DEADLINE,
    )
    assert [job.last_error for job in recovered] == [
        f"lease expired after 1.0 s: {holders[job_id]} lost or stuck on attempt 1" for job_id in ids
    ]
    release(tmp_path)
    with ProcessWorkers(url, processes=1, handler="jobqueue_lab.processes.handlers:hold"):
        assert reopened.wait_until_settled(timeout=DEADLINE)
    assert [(job.status, job.attempts) for job in reopened.list_jobs()] == [(COMPLETED, 2)] * 2
    assert find_violations(reopened.list_jobs(), reopened.transitions()) == []


# --- ProcessWorkers leaves nothing behind ---------------------------------------------------


def gone(pid: int) -> bool:
    """True when no process ``pid`` runs (one that ended but was not yet reaped counts)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_starting_workers_again_on_a_store_replaces_those_started_before(make_sql_store):
    url = make_sql_store.url(make_sql_store())
    first = ProcessWorkers(url, processes=2).start()
    second = ProcessWorkers(url, processes=1, sweeper_interval=None).start()
    try:
        assert [p.running for p in first.processes()] == [False] * 3
        assert [p.running for p in second.processes()] == [True]
    finally:
        second.stop()


def test_dropping_the_object_stops_its_processes(make_sql_store):
    workers = ProcessWorkers(make_sql_store.url(make_sql_store()), processes=2).start()
    pids = [p.pid for p in workers.processes()]
    del workers
    gc.collect()
    assert all(gone(pid) for pid in pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_the_process_that_started_them_is_killed(make_sql_store, tmp_path):
    url = make_sql_store.url(make_sql_store())
    pids = tmp_path / "pids"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from jobqueue_lab.processes.workers import ProcessWorkers\n"
        "workers = ProcessWorkers(sys.argv[1], processes=2).start()\n"
        "Path(sys.argv[2]).write_text(' '.join(str(p.pid) for p in workers.processes()))\n"
        "sys.stdin.read()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, url, pids], stdin=subprocess.PIPE)
    try:
        assert wait_for(pids.exists, timeout=DEADLINE)
        children = [int(pid) for pid in pids.read_text().split()]
        assert not any(gone(pid) for pid in children)
    finally:
        parent.kill()  # SIGKILL: no atexit, no finalizer; the children see their parent change
        parent.wait(DEADLINE)
    assert wait_for(lambda: all(gone(pid) for pid in children), timeout=DEADLINE)


# --- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--store", "memory://", "--handler", "m:f"], "must name a store that processes share"),
        (["--handler", "nothing"], "handler must look like module:function"),
        (["--handler", "jobqueue_lab.processes.handlers:nope"], "has no 'nope'"),
        (["--handler", "no_such_module:f"], "No module named 'no_such_module'"),
        (
            ["--handler", "jobqueue_lab.processes.handlers:noop", "--workers", "0"],
            "--workers must be an int >= 1, got 0",
        ),
    ],
)
def test_the_worker_command_refuses_bad_arguments_and_says_why(make_sql_store, arguments, message):
    url = make_sql_store.url(make_sql_store())
    if "--store" not in arguments:
        arguments = ["--store", url, *arguments]
    done = subprocess.run(
        [sys.executable, "-m", "jobqueue_lab", "worker", *arguments],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_a_worker_process_stops_on_sigterm_and_on_sigint(make_sql_store):
    url = make_sql_store.url(make_sql_store())
    for sig in (signal.SIGTERM, signal.SIGINT):
        command = [sys.executable, "-m", "jobqueue_lab", "worker", "--store", url]
        command += [
            "--handler",
            "jobqueue_lab.processes.handlers:noop",
            "--workers",
            "2",
            "--log-level",
            "INFO",
        ]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            # The process logs once its workers have started: its signal handlers are set then.
            logged = [process.stderr.readline()]
            while "2 workers started" not in logged[-1] and logged[-1]:
                logged.append(process.stderr.readline())
            os.kill(process.pid, sig)
            logged += process.stderr.readlines()
            assert (process.wait(DEADLINE), logged[-1].split(": ")[-1]) == (0, "stopped\n"), logged
        finally:
            process.kill()
            process.stderr.close()
