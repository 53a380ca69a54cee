"""Race-window hooks: how a demo holds broken code at the very moment it goes wrong.

A broken variant that only *sometimes* misbehaves teaches nothing: the window between its read
and its write lasts microseconds. So the broken code calls a hook there, with the job it is
working on. A demo passes a hook that waits on a ``Barrier`` or an ``Event`` (between
processes, on files in a folder they share), and the bad interleaving happens on every run, not
by luck. Every such wait has a timeout, so a bug can
never hang a notebook.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Hook = Callable[[Any], object]
"""A pause point in broken code: called with the job at the race window, then carries on."""


def carry_on(job: object) -> None:
    """The hook used when a demo does not hold the code anywhere: do nothing."""


def meeting_point(timeout: float) -> Hook:
    """A hook that holds each of two threads until both have reached it (a ``Barrier`` of 2)."""
    both_there = threading.Barrier(2, timeout=timeout)
    return lambda job: both_there.wait()


POLL = 0.001
"""How often, in seconds, a process at a ``ProcessMeetingPoint`` looks for the others."""


class ProcessMeetingPoint:
    """The same meeting point for processes, which share no ``Barrier``: they share a folder.

    ``wait(step)`` leaves a file named for this process and the step in ``folder``, then waits
    until all ``parties`` processes have left theirs; after ``timeout`` seconds it gives up with
    ``TimeoutError``, so a process whose partner died can never hang. ``hook(step)`` is the same
    wait as a race-window hook.
    """

    def __init__(self, folder: str | os.PathLike[str], name: str, parties: int, timeout: float):
        self.folder, self.name, self.parties, self.timeout = Path(folder), name, parties, timeout

    def wait(self, step: str) -> None:
        (self.folder / f"{step}.{self.name}").touch()
        deadline = time.monotonic() + self.timeout
        while len(list(self.folder.glob(f"{step}.*"))) < self.parties:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} waited {self.timeout} s for the others at {step}")
            time.sleep(POLL)

    def hook(self, step: str) -> Hook:
        return lambda job: self.wait(step)
