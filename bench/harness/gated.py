"""Worker processes that start together: each gets ready, then waits at a gate.

A worker process spends a few hundred milliseconds starting Python, importing its queue and
connecting to the database, and the systems compared here import very different amounts. Timing
from the moment the processes are launched would measure that. So each worker process does all
of it first, says ``ready`` on its stdout and waits for a line on its stdin; the measuring process
opens the gate when every worker is ready, and only then starts the clock.

The worker side is ``ready_then_wait()``; the measuring side is ``GatedWorkers``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .jobs import BenchmarkError

REPO = Path(__file__).resolve().parents[2]
READY = "ready"
STOP_WAIT = 30.0
"""Seconds a worker process gets to stop after SIGTERM before it is killed."""


def ready_then_wait() -> None:
    """In a worker process: say ready, then block until the gate opens (a line on stdin)."""
    print(READY, flush=True)
    sys.stdin.readline()


def settled_after(check: Callable[[], bool], poll: float, timeout: float) -> bool:
    """Call ``check`` every ``poll`` seconds until it answers True (return True) or ``timeout``
    seconds pass (return False). Every system is watched at the same pace, so each is seen
    settled at most ``poll`` seconds late."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


class GatedWorkers:
    """Worker processes started from ``commands``, each held at the gate until ``open()``.

    Use it as a context manager: leaving the block stops every process (SIGTERM, then SIGKILL
    for any that does not stop in time). Their stderr goes to files, read back if one fails.
    """

    def __init__(self, commands: Sequence[Sequence[str]]) -> None:
        self._logs = tempfile.TemporaryDirectory(prefix="bench-workers-")
        self._processes: list[subprocess.Popen] = []
        for number, command in enumerate(commands):
            with open(Path(self._logs.name) / f"{number}.log", "wb") as log:
                self._processes.append(
                    subprocess.Popen(
                        [sys.executable, *command],
                        cwd=REPO,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                        text=True,
                        start_new_session=True,
                    )
                )

    def __enter__(self) -> GatedWorkers:
        try:
            for number, process in enumerate(self._processes):
                line = process.stdout.readline().strip()
                if line != READY:
                    raise BenchmarkError(
                        f"worker process {number} did not get ready:\n{self.log(number)}"
                    )
        except BaseException:
            self.stop()
            raise
        return self

    def open(self) -> None:
        """Let every worker process start working, as nearly at once as a loop allows."""
        for process in self._processes:
            process.stdin.write("go\n")
            process.stdin.flush()

    def alive(self) -> bool:
        return all(process.poll() is None for process in self._processes)

    def log(self, number: int) -> str:
        return (Path(self._logs.name) / f"{number}.log").read_text()

    def logs(self) -> str:
        return "\n".join(self.log(number) for number in range(len(self._processes)))

    def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for process in self._processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._logs.cleanup()
