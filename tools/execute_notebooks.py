"""Re-execute the course notebooks in fresh kernels and save them with their outputs.

The notebooks are stored executed, and the notebook tests (nbval) compare every stored output
with a new run, so run this after changing the package or a notebook:

    python tools/execute_notebooks.py                      # every notebook in notebooks/
    python tools/execute_notebooks.py notebooks/01-*.ipynb # just these

Each notebook runs in its own fresh kernel with ``notebooks/`` as the working directory, the
way a learner opens it. The worked solutions in ``notebooks/solutions/`` are modules, not
notebooks, and are not touched. The script prints how long each notebook took.

Notebook 12 runs part of its story on the PostgreSQL database that ``JOBQUEUE_LAB_POSTGRES_URL``
names, and the notebook tests run it against a server of their own. So that the saved outputs
are the ones those tests expect, the script starts a throwaway server the way the tests do
(each notebook gets an empty schema) whenever the variable is not set and the ``postgresql``
binaries are installed, and says so when it cannot.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.colab_cells import KERNELSPEC  # noqa: E402  (the kernelspec JupyterLab expects)

NOTEBOOKS = ROOT / "notebooks"
KERNEL = KERNELSPEC["name"]
CELL_TIMEOUT = 120
POSTGRES_URL = "JOBQUEUE_LAB_POSTGRES_URL"


def course_notebooks() -> list[Path]:
    """Every notebook of the course, in run order (their names start with the number)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


@contextlib.contextmanager
def postgres(paths: list[Path]) -> Iterator[object | None]:
    """A throwaway PostgreSQL server (``tests.postgres_server``), or ``None`` when no notebook
    in ``paths`` reads the variable, the variable names a server already, or none can be
    started here."""
    if os.environ.get(POSTGRES_URL) or not any(POSTGRES_URL in p.read_text() for p in paths):
        yield None
        return
    from tests.postgres_server import PostgresServer, missing_reason

    reason = missing_reason()
    if reason is not None:
        print(
            f"no PostgreSQL server for notebook 12 ({reason}): its outputs will say so, "
            "and the notebook tests, which use one, will not match them",
            file=sys.stderr,
        )
        yield None
        return
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def execute(path: Path, server: object | None = None) -> float:
    """Run one notebook top to bottom in a fresh kernel, save it, and return the seconds taken.
    With ``server``, the kernel finds an empty schema of it in ``JOBQUEUE_LAB_POSTGRES_URL``."""
    if server is not None:
        os.environ[POSTGRES_URL] = server.new_schema()
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
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
    with postgres(paths) as server:
        for path in paths:
            try:
                seconds = execute(path, server)
            except CellExecutionError as error:
                print(f"{path.relative_to(ROOT)} failed, not saved:\n{error}", file=sys.stderr)
                return 1
            total += seconds
            print(f"{seconds:6.1f} s  {path.relative_to(ROOT)}")
    print(f"{total:6.1f} s  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
