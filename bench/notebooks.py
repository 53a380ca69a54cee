"""Notebook time: seconds to run each course notebook from the top in a fresh kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .timing import seconds

NOTEBOOK_TIMEOUT = 600


def course_notebooks(folder: Path) -> list[Path]:
    """The notebooks directly in ``folder``, in course order (worked solutions live below it)."""
    return sorted(folder.glob("*.ipynb"))


def execution_seconds(path: Path) -> float:
    """Run every cell of one notebook in a new kernel, the notebook's folder as working
    directory, and return the wall-clock time (kernel start included)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=NOTEBOOK_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    return seconds(client.execute)
