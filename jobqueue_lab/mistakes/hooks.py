"""Race-window hooks: how a demo holds broken code at the very moment it goes wrong.

A broken variant that only *sometimes* misbehaves teaches nothing: the window between its read
and its write lasts microseconds. So the broken code calls a hook there, with the job it is
working on. A demo passes a hook that waits on a ``Barrier`` or an ``Event``, and the bad
interleaving happens on every run, not by luck. Every such wait has a timeout, so a bug can
never hang a notebook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Hook = Callable[[Any], object]
"""A pause point in broken code: called with the job at the race window, then carries on."""


def carry_on(job: object) -> None:
    """The hook used when a demo does not hold the code anywhere: do nothing."""


def meeting_point(timeout: float) -> Hook:
    """A hook that holds each of two threads until both have reached it (a ``Barrier`` of 2)."""
    both_there = threading.Barrier(2, timeout=timeout)
    return lambda job: both_there.wait()
