"""Worker processes for a notebook: start them, list them, kill one, stop them all.

Each process is ``python -m jobqueue_lab worker`` on a store that processes share; one more
process runs the sweeper. Nothing is ever left running: ``stop()`` ends them all (SIGTERM, then
SIGKILL for any that do not stop in time), and so do leaving the ``with`` block, dropping the
object, and the end of the Python process (``atexit``). The processes also end when the
process that started them dies suddenly (a notebook kernel killed on restart). Starting
workers again on the same store URL first stops those started before, so running a notebook
cell twice replaces its workers instead of adding more. A handler or URL that no process
could use is refused before any process starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from ..decisions import MAX_LEASE
from ..pool import STOP_TIMEOUT
from ..stores.urls import check_shared_url, redacted
from ..sweeper import MAX_INTERVAL
from ..validation import check_int, check_number, check_text
from .serve import STORE_VARIABLE, load_handler

KILL_WAIT = 10.0
"""How long, in seconds, to wait for a process to be gone after SIGKILL."""

_latest: dict[str, weakref.ref[ProcessWorkers]] = {}
"""The last ``ProcessWorkers`` started on each store URL, so that starting again replaces it."""


@dataclass(frozen=True)
class WorkerProcess:
    """One process as ``ProcessWorkers.processes()`` saw it. ``exit_code`` is ``None`` while it
    runs, and minus the signal's number when a signal ended it (-9: SIGKILL)."""

    name: str
    pid: int
    running: bool
    exit_code: int | None


class ProcessWorkers:
    """``processes`` worker processes, each with ``workers`` threads, running ``handler``
    (``module:function``) on jobs from the store at ``store_url``, plus a sweeper process
    (unless ``sweeper_interval`` is ``None``). In a notebook::

        handler = "jobqueue_lab.processes.handlers:work"
        workers = ProcessWorkers("sqlite:///jobs.db", 3, handler).start()
        workers.kill("process-2")   # SIGKILL: its job waits for its lease to run out
        workers.stop()
    """

    def __init__(
        self,
        store_url: str,
        processes: int = 3,
        handler: str = "jobqueue_lab.processes.handlers:work",
        *,
        workers: int = 1,
        lease_seconds: float | None = None,
        sweeper_interval: float | None = 0.1,
    ) -> None:
        self.store_url = check_shared_url(store_url)
        load_handler(handler)  # imported here first: a handler no process could run fails now
        self.handler = handler
        self._count = check_int(processes, "processes", minimum=1)
        self._workers = check_int(workers, "workers", minimum=1)
        self._lease = (
            None
            if lease_seconds is None
            else check_number(lease_seconds, "lease_seconds", minimum=0.001, maximum=MAX_LEASE)
        )
        self._sweeper_interval = (
            None
            if sweeper_interval is None
            else check_number(sweeper_interval, "sweeper_interval", minimum=0, maximum=MAX_INTERVAL)
        )
        self._running: dict[str, subprocess.Popen] = {}
        self._logs = tempfile.TemporaryDirectory(prefix="jobqueue-lab-workers-")
        weakref.finalize(self, _end, self._running)

    def start(self) -> ProcessWorkers:
        """Start the processes (entering the ``with`` block does this), after stopping any that
        an earlier ``ProcessWorkers`` started on the same store URL."""
        earlier = _latest.get(self.store_url)
        if earlier is not None and earlier() not in (None, self):
            earlier().stop()
        _latest[self.store_url] = weakref.ref(self)
        names = [f"process-{n}" for n in range(1, self._count + 1)]
        if self._sweeper_interval is not None:
            names.append("sweeper")
        for name in names:
            if name not in self._running or self._running[name].poll() is not None:
                self._running[name] = self._spawn(name)
        return self

    def processes(self) -> list[WorkerProcess]:
        """Every process started, in order, and whether it still runs."""
        return [
            WorkerProcess(name, popen.pid, popen.poll() is None, popen.returncode)
            for name, popen in self._running.items()
        ]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL unless told otherwise) to the process ``name``; a worker's name
        (``process-2.worker-1``, as ``Job.claimed_by`` shows it) names its process too. After
        SIGKILL, waits until the process is gone."""
        popen = self._running.get(check_text(name, "name").split(".")[0])
        if popen is None:
            raise KeyError(f"no process named {name!r}: {', '.join(self._running)}")
        _signal(popen, sig)
        if sig == signal.SIGKILL:
            popen.wait(KILL_WAIT)

    def stop(self, timeout: float = STOP_TIMEOUT + 2) -> bool:
        """Ask every process to stop (SIGTERM: work cut short is released), wait at most
        ``timeout`` seconds, then SIGKILL any still running. True if all stopped when asked."""
        return _end(self._running, timeout)

    def log(self, name: str) -> str:
        """What the process ``name`` logged (warnings and errors) to its stderr."""
        path = Path(self._logs.name) / f"{name}.log"
        return redacted(path.read_text()) if path.exists() else ""

    def __enter__(self) -> ProcessWorkers:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        alive = sum(process.running for process in self.processes())
        return f"<ProcessWorkers {alive} of {len(self._running)} processes running>"

    def _spawn(self, name: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "jobqueue_lab"]
        if name == "sweeper":
            command += ["sweeper", "--interval", str(self._sweeper_interval)]
        else:
            command += ["worker", "--handler", self.handler, "--workers", str(self._workers)]
            if self._lease is not None:
                command += ["--lease-seconds", str(self._lease)]
        command += ["--name", name, "--parent-pid", str(os.getpid())]
        # The URL travels in the environment, which only its owner can read, not in the command.
        environment = {**os.environ, STORE_VARIABLE: self.store_url}
        with open(Path(self._logs.name) / f"{name}.log", "ab") as log:
            # A session of its own: a signal meant for this process (Ctrl-C in a terminal)
            # does not reach the workers, and kill() reaches a worker's own children too.
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=environment,
                start_new_session=True,
            )


def _end(running: dict[str, subprocess.Popen], timeout: float = STOP_TIMEOUT + 2) -> bool:
    """Stop every process in ``running``: SIGTERM, wait until ``timeout``, then SIGKILL."""
    alive = [popen for popen in running.values() if popen.poll() is None]
    for popen in alive:
        _signal(popen, signal.SIGTERM)
        _signal(popen, signal.SIGCONT)  # a stopped process acts on SIGTERM only once continued
    deadline = time.monotonic() + timeout
    graceful = True
    for popen in alive:
        try:
            popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            graceful = False
            _signal(popen, signal.SIGKILL)
            popen.wait(KILL_WAIT)
    # A process that SIGTERM ends before it could set its handler had not claimed a job yet.
    return graceful and all(popen.returncode in (0, -signal.SIGTERM) for popen in alive)


def _signal(popen: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process and its children (its process group), if it still runs."""
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # it ended between the look and the kill
            os.killpg(popen.pid, sig)
