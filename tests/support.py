"""Small helpers shared by the tests."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, poll: float = 0.002) -> bool:
    """Return True as soon as ``condition()`` holds, False once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def run_with_deadline(action, timeout=10.0):
    """Run ``action`` on a thread; fail the test (rather than hang it) if it does not finish."""
    result, errors = [], []

    def target():
        try:
            result.append(action())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlocked"
    if errors:
        raise errors[0]
    return result[0]


def copy_of_the_checkout(destination: Path) -> Path:
    """The files git would commit (tracked or new, never ignored), as a fresh clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


RUN_NOTEBOOK = """
import os
import sys
import nbformat
from nbclient import NotebookClient

source, target = sys.argv[1:]
notebook = nbformat.read(source, as_version=4)
folder = {"metadata": {"path": os.path.dirname(source)}}
NotebookClient(notebook, timeout=300, kernel_name="python3", resources=folder).execute()
nbformat.write(notebook, target)
"""
"""A script, for ``python -c``, that executes the notebook ``argv[1]`` in its own folder and saves
it, outputs and all, as ``argv[2]``: how the Binder and Colab tests run a notebook in another
environment than the one the tests run in."""
