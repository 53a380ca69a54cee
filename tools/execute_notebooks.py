"""Re-execute the course notebooks in fresh kernels and save them with their outputs.

The notebooks are stored executed, and the notebook tests (nbval) compare every stored output
with a new run, so run this after changing the package or a notebook:

    python tools/execute_notebooks.py                      # every notebook in notebooks/
    python tools/execute_notebooks.py notebooks/01-*.ipynb # just these

Each notebook runs in its own fresh kernel with ``notebooks/`` as the working directory, the
way a learner opens it. The worked solutions in ``notebooks/solutions/`` are modules, not
notebooks, and are not touched. The script prints how long each notebook took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"
CELL_TIMEOUT = 120


def course_notebooks() -> list[Path]:
    """Every notebook of the course, in run order (their names start with the number)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def execute(path: Path) -> float:
    """Run one notebook top to bottom in a fresh kernel, save it, and return the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    nbformat.write(notebook, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all)")
    paths = [p.resolve() for p in parser.parse_args(argv).notebooks] or course_notebooks()
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS.relative_to(ROOT)}/", file=sys.stderr)
        return 1
    total = 0.0
    for path in paths:
        try:
            seconds = execute(path)
        except CellExecutionError as error:
            print(f"{path.relative_to(ROOT)} failed, not saved:\n{error}", file=sys.stderr)
            return 1
        total += seconds
        print(f"{seconds:6.1f} s  {path.relative_to(ROOT)}")
    print(f"{total:6.1f} s  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
