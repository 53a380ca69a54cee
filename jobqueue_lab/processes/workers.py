"""Worker processes for a notebook: start them, list them, kill one, stop them all.

Each process is ``python -m jobqueue_lab worker`` on a store that processes share; one more
process runs the sweeper. Nothing is ever left running: ``stop()`` ends them all (SIGTERM, then
SIGKILL for any that do not stop in time), and so do leaving the ``with`` block, dropping the
object, and the end of the Python process (``atexit``). The processes also end when the
process that started them dies suddenly (a notebook kernel killed on restart). Starting
workers again on the same store URL first stops those started before, so running a notebook
cell twice replaces its workers instead of adding more.

Nothing fails quietly either: a handler or URL that no process could use is refused before
any process starts, and a process that ends without being asked to (a crash, an error at
start) is reported, with its exit code and the last lines it wrote, by the next ``start()`` or
``stop()``.
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
from ..validation import check_int, check_number, check_text, check_timeout
from .serve import STORE_VARIABLE, load_handler

KILL_WAIT = 10.0
"""How long, in seconds, to wait for a process to be gone after SIGKILL."""

LAST_LINES = 10
"""How many of its last stderr lines a report of a process that ended on its own shows."""

PAUSING = (signal.SIGSTOP, signal.SIGCONT)
"""Signals that pause or resume a process: a process sent one was not asked to end."""

_latest: dict[str, weakref.ref[ProcessWorkers]] = {}
"""The last ``ProcessWorkers`` started on each store URL, so that starting again replaces it."""


@dataclass(frozen=True)
class WorkerProcess:
    """One process as ``ProcessWorkers.processes()`` saw it. ``exit_code`` is ``None`` while it
    runs, and minus the signal's number when a signal ended it (-9: SIGKILL). ``on_its_own``:
    it ended without being asked to by ``stop()`` or ``kill()``."""

    name: str
    pid: int
    running: bool
    exit_code: int | None
    on_its_own: bool = False

    def describe(self) -> str:
        """How the process ended, in words: ``process-1 (pid 42) exited with code 2``."""
        if self.exit_code is None:
            return f"{self.name} (pid {self.pid}) is running"
        if self.exit_code >= 0:
            return f"{self.name} (pid {self.pid}) exited with code {self.exit_code}"
        return f"{self.name} (pid {self.pid}) was ended by {_signal_name(-self.exit_code)}"


class WorkerProcessExited(RuntimeError):
    """Worker processes ended without being asked to. ``exits`` has each one, and ``last_lines``
    what each wrote last to its stderr: usually the reason."""

    def __init__(self, exits: list[WorkerProcess], last_lines: dict[str, str]) -> None:
        self.exits = exits
        self.last_lines = last_lines
        reports = [
            f"{process.describe()} on its own; the last lines of its stderr:\n"
            + (_indented(last_lines[process.name]) or "    (nothing)")
            for process in exits
        ]
        super().__init__("\n".join(reports))


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
        self._asked: set[str] = set()  # the processes stop() or kill() asked to end
        self._reported: set[str] = set()  # those that ended on their own, already reported
        self._logs = tempfile.TemporaryDirectory(prefix="jobqueue-lab-workers-")
        weakref.finalize(self, _end, self._running)

    def start(self) -> ProcessWorkers:
        """Start the processes (entering the ``with`` block does this), after stopping any that
        an earlier ``ProcessWorkers`` started on the same store URL. Starting again restarts
        those that have ended; but if one ended on its own, this raises ``WorkerProcessExited``
        first, once, instead of hiding it behind a new process."""
        self._report_exits()
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
                self._asked.discard(name)
                self._reported.discard(name)
        return self

    def processes(self) -> list[WorkerProcess]:
        """Every process started, in order, whether it still runs, and how it ended."""
        return [
            WorkerProcess(
                name,
                popen.pid,
                popen.poll() is None,
                popen.returncode,
                popen.returncode is not None and name not in self._asked,
            )
            for name, popen in self._running.items()
        ]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL unless told otherwise) to the process ``name``; a worker's name
        (``process-2.worker-1``, as ``Job.claimed_by`` shows it) names its process too. After
        SIGKILL, waits until the process is gone."""
        popen = self._running.get(check_text(name, "name").split(".")[0])
        if popen is None:
            raise KeyError(f"no process named {name!r}: {', '.join(self._running)}")
        if popen.poll() is None and sig not in PAUSING:
            self._asked.add(name.split(".")[0])
        _signal(popen, sig)
        if sig == signal.SIGKILL:
            popen.wait(KILL_WAIT)

    def stop(self, timeout: float | None = STOP_TIMEOUT + 2) -> bool:
        """Ask every process to stop (SIGTERM: work cut short is released), wait at most
        ``timeout`` seconds (``None``: as long as it takes), then SIGKILL any still running.
        True if all stopped when asked. Raises ``WorkerProcessExited``, once every process
        has ended, if any had ended on its own before."""
        timeout = check_timeout(timeout)
        self._asked.update(name for name, popen in self._running.items() if popen.poll() is None)
        graceful = _end(self._running, timeout)
        self._report_exits()
        return graceful

    def log(self, name: str) -> str:
        """What the process ``name`` logged (warnings and errors) to its stderr."""
        path = Path(self._logs.name) / f"{name}.log"
        return redacted(path.read_text()) if path.exists() else ""

    def __enter__(self) -> ProcessWorkers:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        processes = self.processes()
        alive = sum(process.running for process in processes)
        ended = "".join(f"; {p.describe()} on its own" for p in processes if p.on_its_own)
        return f"<ProcessWorkers {alive} of {len(processes)} processes running{ended}>"

    def _report_exits(self) -> None:
        """Raise ``WorkerProcessExited`` for the processes that ended on their own since the
        last report."""
        exits = [p for p in self.processes() if p.on_its_own and p.name not in self._reported]
        if exits:
            self._reported.update(process.name for process in exits)
            raise WorkerProcessExited(exits, {p.name: self._last_lines(p.name) for p in exits})

    def _last_lines(self, name: str) -> str:
        """The last ``LAST_LINES`` lines of what the process ``name`` wrote to its stderr."""
        path = Path(self._logs.name) / f"{name}.log"
        if not path.exists():
            return ""
        with open(path, "rb") as log:
            log.seek(max(0, path.stat().st_size - 200 * LAST_LINES))
            tail = log.read().decode(errors="replace")
        return redacted("\n".join(tail.splitlines()[-LAST_LINES:]))

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


def _end(running: dict[str, subprocess.Popen], timeout: float | None = STOP_TIMEOUT + 2) -> bool:
    """Stop every process in ``running``: SIGTERM, wait until ``timeout`` (``None``: no
    limit), then SIGKILL."""
    alive = [popen for popen in running.values() if popen.poll() is None]
    for popen in alive:
        _signal(popen, signal.SIGTERM)
        _signal(popen, signal.SIGCONT)  # a stopped process acts on SIGTERM only once continued
    deadline = None if timeout is None else time.monotonic() + timeout
    graceful = True
    for popen in alive:
        try:
            popen.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
