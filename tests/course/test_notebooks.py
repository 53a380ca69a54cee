"""The course notebooks: stored outputs reproduce, the shape is right, the exercises work.

Notebooks and exercises are discovered, not listed, so a new notebook is covered as soon as
it exists: every ``notebooks/NN-*.ipynb`` is checked, and every code cell tagged
``exercise-starter`` is an exercise whose check is named in the cell's ``exercise`` metadata
(the convention is written out in ``jobqueue_lab/exercises/__init__.py``). The check lives in
the notebook's own module of checks, ``jobqueue_lab/exercises/nbNN_<name>.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from nbclient import NotebookClient

from jobqueue_lab import exercises
from tests.postgres_server import missing_reason

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
ARTIFACTS = ROOT / "test-artifacts"

COURSE = (
    "00-start-here",
    "01-state-machine",
    "02-failure-handling",
    "03-simulating-failure",
    "04-retries-and-attempts",
    "05-the-sweeper",
    "06-atomic-updates-and-races",
    "07-broken-vs-correct",
    "08-dashboard",
    "09-leases-and-fencing",
    "10-permanent-failures-and-idempotency",
    "11-processes-on-one-machine",
    "12-many-machines",
)
"""The course in run order. Each notebook links to the one before it and the one after it."""

MAX_SECONDS_PER_NOTEBOOK = 10.0
MAX_SECONDS_IN_ALL = 60.0
MIN_COMPARED_SHARE = 0.9

POSTGRES_URL = "JOBQUEUE_LAB_POSTGRES_URL"
POSTGRES_TAG = "postgres"
"""A cell whose output depends on the PostgreSQL database that ``POSTGRES_URL`` names. The
notebooks are saved, and compared, with a throwaway server's database there."""

IGNORE_MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")
IGNORE_TAGS = {"nbval-ignore-output", "nbval-skip"}
STARTER_TAG = "exercise-starter"
GOALS = "## Learning goals\n\nAfter this notebook you will be able to:\n"


def course_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def output_is_compared(cell: nbformat.NotebookNode) -> bool:
    """False when nbval is told to skip the cell or ignore its output."""
    first_lines = cell.source.lstrip().splitlines()[:3]
    if any(line.strip().startswith(IGNORE_MARKERS) for line in first_lines):
        return False
    return not IGNORE_TAGS & set(cell.metadata.get("tags", []))


def exercises_in(path: Path) -> list[tuple[Path, int, str]]:
    """``(notebook, cell index, check name)`` for every starter cell of one notebook."""
    return [
        (path, index, cell.metadata.get("exercise", ""))
        for index, cell in enumerate(read(path).cells)
        if STARTER_TAG in cell.metadata.get("tags", [])
    ]


def all_exercises() -> list[tuple[Path, int, str]]:
    return [exercise for path in course_notebooks() for exercise in exercises_in(path)]


def exercise_id(exercise: tuple[Path, int, str]) -> str:
    path, index, check = exercise
    return f"{path.stem}-cell{index}-{check}"


def solution_module(path: Path) -> ModuleType:
    """Import ``notebooks/solutions/NN_*.py``, the one solutions module of notebook ``NN``."""
    candidates = sorted(SOLUTIONS.glob(f"{path.name[:2]}_*.py"))
    assert len(candidates) == 1, f"{path.name}: expected one solutions/{path.name[:2]}_*.py"
    spec = importlib.util.spec_from_file_location(f"solution_{candidates[0].stem}", candidates[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_arguments(check, namespace: dict) -> dict:
    """The check's arguments, taken by name from what the learner's code defined."""
    parameters = inspect.signature(check).parameters
    missing = [name for name in parameters if name not in namespace]
    assert not missing, f"{check.__name__} needs {missing}, which the code does not define"
    return {name: namespace[name] for name in parameters}


def checks_module(path: Path) -> ModuleType:
    """``jobqueue_lab.exercises.nbNN_*``, the one module of checks for notebook ``NN``."""
    prefix = f"nb{path.name[:2]}_"
    names = [m.name for m in pkgutil.iter_modules(exercises.__path__) if m.name.startswith(prefix)]
    assert len(names) == 1, f"{path.name}: expected one jobqueue_lab/exercises/{prefix}*.py"
    return importlib.import_module(f"{exercises.__name__}.{names[0]}")


def the_check(path: Path, name: str):
    check = getattr(checks_module(path), name, None)
    assert callable(check), f"{checks_module(path).__name__} has no check called {name!r}"
    return check


# --- the course as a whole ---------------------------------------------------------------


def test_the_whole_course_is_there():
    missing = [name for name in COURSE if not (NOTEBOOKS / f"{name}.ipynb").exists()]
    assert not missing, f"notebooks not written yet: {missing}"
    assert [p.stem for p in course_notebooks()] == list(COURSE)


def test_notebooks_pass_nbval_strictly_and_within_budget(request):
    """Re-run every notebook under nbval (every output compared) and time each one.

    The cells tagged ``postgres`` run against an empty schema of the tests' throwaway server;
    where no server can be started they are left out, and the timing table says so.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    junit = ARTIFACTS / "nbval-junit.xml"
    env, left_out = postgres_environment(request)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        "--nbval-current-env",
        "notebooks",
        "--ignore=notebooks/solutions",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        *(f"--deselect={item}" for item in left_out),
    ]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = seconds_per_notebook(junit) if junit.exists() else {}
    times = timing_table(seconds)
    if left_out:
        times += f"\n(not run: {len(left_out)} PostgreSQL cells, {missing_reason()})"
    (ARTIFACTS / "notebook-times.txt").write_text(times + "\n")
    assert run.returncode == 0, f"nbval failed:\n{run.stdout[-6000:]}\n{times}"
    assert set(seconds) == {path.name for path in course_notebooks()}, times
    slow = {name: s for name, s in seconds.items() if s > MAX_SECONDS_PER_NOTEBOOK}
    assert not slow, f"over {MAX_SECONDS_PER_NOTEBOOK:.0f} s: {slow}\n{times}"
    assert sum(seconds.values()) <= MAX_SECONDS_IN_ALL, times


def postgres_environment(request) -> tuple[dict[str, str], list[str]]:
    """The environment for nbval, with a database in ``POSTGRES_URL`` when a server can be
    started here; else the nbval ids of the cells that need one, to leave out."""
    if missing_reason() is None:
        server = request.getfixturevalue("postgres_server")
        return {**os.environ, POSTGRES_URL: server.new_schema()}, []
    left_out = [
        f"{path.relative_to(ROOT)}::Cell {number}"
        for path in course_notebooks()
        for number, cell in enumerate(code_cells(read(path)))
        if POSTGRES_TAG in cell.metadata.get("tags", [])
    ]
    return {key: value for key, value in os.environ.items() if key != POSTGRES_URL}, left_out


def seconds_per_notebook(junit: Path) -> dict[str, float]:
    """Add up nbval's per-cell times (kernel start included in the first cell) per notebook."""
    seconds: dict[str, float] = {}
    for case in ET.parse(junit).iter("testcase"):
        name = case.get("classname", "").removeprefix("notebooks.")
        seconds[name] = seconds.get(name, 0.0) + float(case.get("time", 0))
    return seconds


def timing_table(seconds: dict[str, float]) -> str:
    lines = [f"{s:6.1f} s  {name}" for name, s in sorted(seconds.items())]
    lines.append(f"{sum(seconds.values()):6.1f} s  in all")
    return "\n".join(lines)


# --- each notebook -------------------------------------------------------------------------


@pytest.fixture(params=course_notebooks(), ids=lambda p: p.stem)
def notebook_path(request) -> Path:
    return request.param


def test_enough_outputs_are_compared(notebook_path):
    """A cell tagged ``postgres`` that says whether a server was named is left out of the count:
    its output differs with the setup by design, so it is never compared."""
    with_output = [
        cell
        for cell in code_cells(read(notebook_path))
        if cell.outputs and POSTGRES_TAG not in cell.metadata.get("tags", [])
    ]
    compared = [cell for cell in with_output if output_is_compared(cell)]
    assert with_output, "no code cell has output"
    share = len(compared) / len(with_output)
    assert share >= MIN_COMPARED_SHARE, (
        f"only {len(compared)} of {len(with_output)} cells with output are compared by nbval"
    )


def test_stored_as_executed_top_to_bottom(notebook_path):
    notebook = read(notebook_path)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"
    cells = code_cells(notebook)
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"not one fresh top-to-bottom run: {counts}"
    errors = [
        (index, output.get("ename"))
        for index, cell in enumerate(cells)
        for output in cell.outputs
        if output.output_type == "error"
        or (output.output_type == "stream" and output.name == "stderr")
    ]
    assert not errors, f"error or stderr output stored in code cells: {errors}"


def test_has_learning_goals_at_the_top(notebook_path):
    """Within the first three cells: the "Learning goals" heading, worded the same in every
    notebook, with a bulleted list of goals in the same cell."""
    top = [cell.source for cell in read(notebook_path).cells[:3] if cell.cell_type == "markdown"]
    goals = [text for text in top if GOALS in text and re.search(r"^- ", text, re.MULTILINE)]
    assert goals, "no learning goals (a heading and a bulleted list) in the first three cells"


def test_says_how_long_it_takes(notebook_path):
    first_cell = read(notebook_path).cells[0].source
    assert re.search(r"^\*About \d+ minutes\.\*$", first_cell, re.MULTILINE)


MAX_CELLS = 45
"""One sitting: a chapter longer than this has more than one idea in it, and should be split."""


def test_fits_in_one_sitting(notebook_path):
    assert len(read(notebook_path).cells) <= MAX_CELLS


def test_links_to_previous_and_next(notebook_path):
    markdown = "\n".join(
        cell.source for cell in read(notebook_path).cells if cell.cell_type == "markdown"
    )
    position = COURSE.index(notebook_path.stem)
    neighbours = COURSE[max(position - 1, 0) : position] + COURSE[position + 1 : position + 2]
    for name in neighbours:
        assert f"]({name}.ipynb)" in markdown, f"no relative link to {name}.ipynb"


def test_relative_links_lead_somewhere(notebook_path):
    markdown = "\n".join(
        cell.source for cell in read(notebook_path).cells if cell.cell_type == "markdown"
    )
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", markdown)
    local = [t for t in targets if "://" not in t]
    broken = [t for t in local if not (NOTEBOOKS / t).exists()]
    planned = {f"{name}.ipynb" for name in COURSE}
    assert not [t for t in broken if t not in planned], f"links to nothing: {broken}"


def test_has_an_exercise(notebook_path):
    found = exercises_in(notebook_path)
    assert found, f"no code cell tagged {STARTER_TAG!r}"
    assert all(check for _, _, check in found), "a starter cell does not name its check"


# --- each exercise -------------------------------------------------------------------------


@pytest.fixture(params=all_exercises(), ids=exercise_id)
def exercise(request) -> tuple[Path, int, str]:
    return request.param


def test_the_cell_after_the_starter_runs_the_check(exercise):
    path, index, check = exercise
    cells = read(path).cells
    assert index + 1 < len(cells), "the starter is the last cell: nothing runs its check"
    after = cells[index + 1]
    assert after.cell_type == "code" and check in after.source
    assert f"from {checks_module(path).__name__} import" in after.source
    printed = "".join(o.get("text", "") for o in after.outputs if o.output_type == "stream")
    assert printed.startswith(exercises.NOT_SOLVED), f"stored output is not a verdict: {printed!r}"


def test_the_starter_is_reported_unsolved(exercise):
    path, index, check_name = exercise
    namespace: dict = {"__name__": "__starter__"}
    exec(compile(read(path).cells[index].source, f"{path.name}:cell{index}", "exec"), namespace)
    check = the_check(path, check_name)
    problems = check(**check_arguments(check, namespace))
    assert isinstance(problems, list)
    assert problems, "the starter code already passes its check"
    assert all(isinstance(p, str) and p for p in problems)


def test_the_solution_solves_it(exercise):
    path, _, check_name = exercise
    solution = solution_module(path)
    check = the_check(path, check_name)
    assert check(**check_arguments(check, vars(solution))) == []


# --- running cells again ---------------------------------------------------------------------

REFUSALS = {"InvalidTransition", "StaleClaim"}
"""What a cell run a second time in a row may raise: the store refusing, in words, a move the
job has already made (``StaleClaim`` when the move was asked for under a claim that has since
been used up). Anything else (AttributeError on a ``None``, ``JobNotFound``, ...) is a cell
that does not survive being run again."""


def cell_by_cell(notebook: nbformat.NotebookNode) -> NotebookClient:
    """A client that runs a notebook's cells one at a time, in ``notebooks/``, as a learner
    does, and keeps going after a cell that raises (each test decides what an error means)."""
    return NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )


def test_every_cell_survives_being_run_again(notebook_path):
    """Run each code cell twice in a row, then the whole notebook once more, in one kernel.

    The second run of a cell may only be refused by the store; the whole second pass, where
    every section starts from its own first cell again, must raise nothing.
    """
    notebook = read(notebook_path)
    client = cell_by_cell(notebook)
    problems = []
    with client.setup_kernel():
        cells = [
            (index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
        ]
        for index, cell in cells:
            for run in ("first run", "run again"):
                client.execute_cell(cell, index)
                allowed = REFUSALS if run == "run again" else set()
                problems += [
                    f"cell {index}, {run}: {error.ename}: {error.evalue}"
                    for error in errors_in(cell)
                    if error.ename not in allowed
                ]
        for index, cell in cells:
            client.execute_cell(cell, index)
            problems += [
                f"cell {index}, second pass: {e.ename}: {e.evalue}" for e in errors_in(cell)
            ]
    assert not problems, "\n".join(problems)


SECTION = re.compile(r"^## ", re.MULTILINE)


def sections_of(notebook: nbformat.NotebookNode) -> list[tuple[str, list[int]]]:
    """``(heading, indices of its code cells)`` for every section: the cells from one markdown
    cell with a ``## `` heading up to the next such cell. Cells above the first are in none."""
    sections: list[tuple[str, list[int]]] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and SECTION.search(cell.source):
            heading = SECTION.split(cell.source, maxsplit=1)[1].splitlines()[0]
            sections.append((heading, []))
        elif cell.cell_type == "code" and sections:
            sections[-1][1].append(index)
    return sections


def test_every_section_runs_again_after_the_whole_notebook(notebook_path):
    """Run the whole notebook, then each section again from its heading, in the same kernel:
    the last section first, then the one before it, up to the first.

    So each section meets what the whole notebook (and the sections after it) left behind,
    as it does when a learner scrolls back and runs a section again. Nothing may raise.
    """
    notebook = read(notebook_path)
    client = cell_by_cell(notebook)
    problems = []
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
                problems += [
                    f"cell {index}, first run: {e.ename}: {e.evalue}" for e in errors_in(cell)
                ]
        for heading, indices in reversed(sections_of(notebook)):
            for index in indices:
                cell = notebook.cells[index]
                client.execute_cell(cell, index)
                problems += [
                    f"section {heading!r} again, cell {index}: {e.ename}: {e.evalue}"
                    for e in errors_in(cell)
                ]
                problems += [
                    f"section {heading!r} again, cell {index} printed to stderr: {o.text[-300:]}"
                    for o in cell.outputs
                    if o.output_type == "stream" and o.name == "stderr"
                ]
    assert not problems, "\n".join(problems)


def errors_in(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for output in cell.outputs if output.output_type == "error"]


# --- what the course says about itself -------------------------------------------------------

README = ROOT / "README.md"


def markdown_of(path: Path) -> str:
    return "\n".join(cell.source for cell in read(path).cells if cell.cell_type == "markdown")


def test_one_python_version_is_stated_everywhere():
    """The course environment's Python, as Binder's runtime.txt pins it, is the one the README
    and the first notebook ask for, and the only one they name."""
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip().removeprefix("python-")
    for name, text in [
        ("README.md", README.read_text()),
        ("00-start-here", markdown_of(NOTEBOOKS / "00-start-here.ipynb")),
    ]:
        stated = re.findall(r"Python (\d+\.\d+)\b", text.split("## Benchmarks")[0])
        assert stated and set(stated) == {runtime}, f"{name} names Python {stated}"


def test_the_binder_badge_is_where_the_first_notebook_says():
    """00 sends learners to the badge at the top of the README, and names no repository path,
    so it stays true wherever the course is published."""
    top_of_readme = README.read_text().split("\n## ")[0]
    assert "[![Launch the course on Binder][binder-badge]][binder-launch]" in top_of_readme
    start = markdown_of(NOTEBOOKS / "00-start-here.ipynb")
    assert "badge at the top of its [README](../README.md)" in start.replace("\n", " ")
    assert "mybinder.org/v2/gh" not in start and "OWNER" not in start
