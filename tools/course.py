"""What the course is, read from its own files: the notebooks present and where it is published.

Everything that lists the chapters (the README's syllabus, the site's landing page and table of
contents) asks this module, and this module asks the notebooks, so a notebook that is added,
split or renamed shows up everywhere the next time those files are made. Nothing here keeps a
list of chapters.

A notebook states how long it takes in a line of its markdown such as ``*About 25 minutes.*``
(the course's own notebooks do, under their title; ``**Time:** about 25 minutes`` works too).
Where none does, the syllabus estimates it from the notebook's length (reading at 150 words a
minute, a minute per code cell, ten per exercise) and rounds to five minutes.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CONFIG = ROOT / "course.toml"

EXERCISE_TAG = "exercise-starter"
INSTALL_TAG = "install-cell"
"""Tags the install cell that ``tools/colab_cells.py`` adds; it is not part of the lesson."""
GOALS = re.compile(r"learning goals|after this notebook you", re.IGNORECASE)
STATED_TIME = re.compile(
    r"^\W*(?:time\W+(?:about\s+)?|about\s+)(\d+)\s*min", re.IGNORECASE | re.MULTILINE
)
REPOSITORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")


def course_notebooks() -> list[Path]:
    """Every chapter, in run order: ``notebooks/NN-*.ipynb`` sorted by name."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


@dataclass(frozen=True)
class Repository:
    """Where the course is published on GitHub, and the links that follow from it."""

    name: str
    branch: str

    def __post_init__(self) -> None:
        if not REPOSITORY_NAME.fullmatch(self.name):
            raise ValueError(f"repository must be 'owner/name', not {self.name!r}")

    @property
    def url(self) -> str:
        return f"https://github.com/{self.name}"

    @property
    def pip_source(self) -> str:
        """What ``pip install`` takes to install the package from the repository."""
        return f"git+{self.url}@{self.branch}"

    def binder_url(self, path: str) -> str:
        """Binder, opening JupyterLab at ``path`` (relative to the repository root)."""
        return f"https://mybinder.org/v2/gh/{self.name}/{self.branch}?urlpath=lab/tree/{path}"

    def colab_url(self, path: str) -> str:
        return f"https://colab.research.google.com/github/{self.name}/blob/{self.branch}/{path}"

    def file_url(self, path: str) -> str:
        """A file of the repository as GitHub shows it."""
        return f"{self.url}/blob/{self.branch}/{quote(path)}"


def repository(name: str | None = None) -> Repository:
    """The repository ``course.toml`` names; ``name`` (``owner/name``) overrides its name."""
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["repository"]
    return Repository(name=name or config["name"], branch=config["branch"])


@dataclass(frozen=True)
class Chapter:
    """One row of the syllabus."""

    path: Path
    title: str
    goal: str
    minutes: int
    minutes_stated: bool

    @property
    def relative_path(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def chapter(path: Path) -> Chapter:
    """Read one notebook: its first heading, its first learning goal, and its length in time."""
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    headings = [m[1].strip() for text in markdown if (m := re.search(r"^# (.+)$", text, re.M))]
    if not headings:
        raise ValueError(f"{path.name} has no '# ' heading to take its title from")
    stated = next((m for text in markdown if (m := STATED_TIME.search(text))), None)
    minutes = int(stated[1]) if stated else estimated_minutes(notebook)
    return Chapter(path, headings[0], first_goal(markdown), minutes, stated is not None)


def first_goal(markdown: list[str]) -> str:
    """The first bullet of the learning goals near the top, as a sentence."""
    for text in markdown[:3]:
        if GOALS.search(text) and (bullet := re.search(r"^- (.+(?:\n  +.+)*)", text, re.M)):
            goal = " ".join(bullet[1].split()).rstrip(";.,")
            return goal[:1].upper() + goal[1:] + "."
    return ""


def estimated_minutes(notebook: nbformat.NotebookNode) -> int:
    words = sum(len(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")
    code = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and INSTALL_TAG not in cell.metadata.get("tags", [])
    ]
    exercises = [cell for cell in code if EXERCISE_TAG in cell.metadata.get("tags", [])]
    minutes = words / 150 + len(code) + 10 * len(exercises)
    return max(5, 5 * math.ceil(minutes / 5))


def chapters() -> list[Chapter]:
    return [chapter(path) for path in course_notebooks()]


def syllabus_table(rows: list[Chapter], link_prefix: str = "") -> str:
    """The syllabus as a Markdown table, each notebook linked as ``link_prefix + path``."""
    lines = ["| notebook | what you learn | minutes |", "|---|---|---|"]
    for row in rows:
        minutes = str(row.minutes) if row.minutes_stated else f"~{row.minutes}"
        title = row.title.replace("|", "\\|")
        goal = row.goal.replace("|", "\\|")
        lines.append(f"| [{title}]({link_prefix}{row.relative_path}) | {goal} | {minutes} |")
    total = sum(row.minutes for row in rows)
    about = "" if all(row.minutes_stated for row in rows) else "~"
    lines.append(f"| **in all** | {len(rows)} notebooks | {about}{total} |")
    return "\n".join(lines)


def syllabus_note(rows: list[Chapter]) -> str:
    """The line under the syllabus: whose minutes they are."""
    if all(row.minutes_stated for row in rows):
        return "Minutes are each chapter's own estimate; the exercises take longest."
    return "Minutes marked ~ are estimated from the notebook's length; the exercises take longest."
