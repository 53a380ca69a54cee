"""Notebook time: seconds to run one course notebook from the top in a fresh kernel.

The kernel is a process of its own; the measuring process only drives it with nbclient.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ..harness.timing import seconds

NOTEBOOK_TIMEOUT = 600


def execution_seconds(path: str) -> float:
    """Run every cell of one notebook in a new kernel, the notebook's folder as working
    directory, and return the wall-clock time (kernel start included)."""
    notebook_path = Path(path)
    notebook = nbformat.read(notebook_path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=NOTEBOOK_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook_path.parent)}},
    )
    return seconds(client.execute)
