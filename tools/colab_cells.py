"""Make every course notebook ready for Colab, for a clean open in JupyterLab, and for the glossary.

Run it after adding, splitting or changing notebooks, and after changing ``course.toml``:

    python tools/colab_cells.py           # rewrite the notebooks that need it
    python tools/colab_cells.py --check   # only say which ones would change (exit 1 if any)

It is idempotent: a second run changes nothing. For each ``notebooks/NN-*.ipynb`` it

1. inserts, or updates, an **install cell** just before the first code cell. Colab has pandas,
   matplotlib and ipywidgets but not ``jobqueue_lab``: the cell installs the package from the
   repository that ``course.toml`` names, and only when it cannot be found. Locally and on
   Binder the package is installed, so the cell prints nothing, and nbval, which compares
   outputs, sees nothing to compare. ``JOBQUEUE_LAB_INSTALL_FROM`` makes it install from
   somewhere else, such as a local checkout (the tests do that). The cell is tagged
   ``install-cell`` (how this script finds it again) and ``remove-cell`` (the site leaves it out:
   a reader has nothing to install); Colab shows its title with the code folded.
   The code cells after it are renumbered so the notebook still reads as one top-to-bottom run;
2. sets the kernelspec exactly as ipykernel installs it, so JupyterLab does not mark a notebook
   as changed the moment it opens it;
3. links each term of ``book/glossary.md`` (its ``## `` headings) where the course introduces
   it: the first mention in bold, or failing that the first mention, in the first notebook
   that mentions it. A term already linked somewhere in the course is left alone, so links
   survive notebooks being split or reordered.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.course import INSTALL_TAG, ROOT, Repository, course_notebooks, repository

GLOSSARY = ROOT / "book" / "glossary.md"
SITE_HIDES = "remove-cell"
INSTALL_FROM = "JOBQUEUE_LAB_INSTALL_FROM"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
"""What ``python -m ipykernel install`` writes for the default kernel (kernel.json)."""

INSTALL_CELL = """\
#@title On Colab, run this first: it installs the course package (elsewhere it does nothing)
import importlib.util

if importlib.util.find_spec("jobqueue_lab") is None:
    import os
    import subprocess
    import sys

    source = os.environ.get("{variable}", "{source}")
    print(f"Installing jobqueue_lab from {{source}} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
"""


def install_source(repo: Repository) -> str:
    return INSTALL_CELL.format(variable=INSTALL_FROM, source=repo.pip_source)


# --- the install cell --------------------------------------------------------------------------


def is_install_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and INSTALL_TAG in cell.metadata.get("tags", [])


def with_install_cell(notebook: nbformat.NotebookNode, repo: Repository) -> None:
    """Insert or update the install cell, just before the first other code cell."""
    was_one_run = _counts_are_one_run(notebook)
    cells = [cell for cell in notebook.cells if not is_install_cell(cell)]
    existing = [cell for cell in notebook.cells if is_install_cell(cell)]
    cell = existing[0] if existing else nbformat.v4.new_code_cell()
    cell.id = INSTALL_TAG
    cell.source = install_source(repo)
    cell.outputs = []
    tags = [t for t in cell.metadata.get("tags", []) if t not in (INSTALL_TAG, SITE_HIDES)]
    cell.metadata["tags"] = [*tags, INSTALL_TAG, SITE_HIDES]
    cell.metadata.pop("jupyter", None)  # shown in JupyterLab: a collapsed cell hides its prompt
    cell.metadata["cellView"] = "form"  # Colab: show the title, fold the code
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    cells.insert(first_code, cell)
    notebook.cells = cells
    if was_one_run or not existing:
        _renumber(notebook)


def _counts_are_one_run(notebook: nbformat.NotebookNode) -> bool:
    """True when the stored code cells were executed once, top to bottom (counts 1, 2, ...),
    leaving out an install cell that has not been run yet."""
    counts = [
        cell.execution_count
        for cell in notebook.cells
        if cell.cell_type == "code" and not (is_install_cell(cell) and not cell.execution_count)
    ]
    return counts == list(range(1, len(counts) + 1))


def _renumber(notebook: nbformat.NotebookNode) -> None:
    """Number the code cells 1, 2, ... as one fresh run would, if they were numbered before.

    The install cell prints nothing where the package is installed, so a fresh run of the
    notebook gives every other cell the number it had, plus one."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    others = [cell for cell in code if not is_install_cell(cell)]
    if [cell.execution_count for cell in others] != list(range(1, len(others) + 1)) and [
        cell.execution_count for cell in code
    ] != list(range(1, len(code) + 1)):
        return  # not a stored run (e.g. cleared outputs): leave the counts alone
    for number, cell in enumerate(code, start=1):
        cell.execution_count = number
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = number


# --- the glossary links ------------------------------------------------------------------------


def glossary_terms(path: Path = GLOSSARY) -> dict[str, str]:
    """``{term: slug}`` from the ``## `` headings of the glossary, in its order."""
    terms = re.findall(r"^## (.+?)\s*$", path.read_text(encoding="utf-8"), re.M)
    return {term: slug(term) for term in terms}


def slug(heading: str) -> str:
    """The anchor GitHub and MyST give a heading: lower case, spaces to hyphens."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"\s", "-", text)


# Spans of Markdown a link must not go into: fenced code, inline code, links and images,
# headings, HTML tags and bare URLs.
_PROTECTED = re.compile(
    r"```.*?```|`[^`\n]*`|!?\[[^\]]*\]\([^)]*\)|^#[^\n]*$|<[^>\n]+>|https?://\S+",
    re.S | re.M,
)


def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in re.split(r"[\s-]+", term)]
    return re.compile(r"(?<![\w-])(" + r"[\s-]+".join(words) + r"(?:s|es)?)(?![\w-])", re.I)


def _mentions(text: str, term: str, bold: bool) -> Iterable[re.Match[str]]:
    protected = [match.span() for match in _PROTECTED.finditer(text)]
    for match in _term_pattern(term).finditer(text):
        start, end = match.span(1)
        if any(a < end and start < b for a, b in protected):
            continue
        if bold and not (text[:start].endswith("**") and text[end:].startswith("**")):
            continue
        yield match


def link_glossary_terms(notebooks: list[nbformat.NotebookNode]) -> None:
    """Link each term not linked anywhere yet, at its first bold (else first) mention.
    ``notebooks`` are the whole course, in order."""
    markdown = [cell for nb in notebooks for cell in nb.cells if cell.cell_type == "markdown"]
    for term, anchor in glossary_terms().items():
        if any(f"glossary.md#{anchor})" in cell.source for cell in markdown):
            continue
        for bold in (True, False):
            found = next(((c, m) for c in markdown for m in _mentions(c.source, term, bold)), None)
            if found:
                cell, match = found
                target = Path("..", GLOSSARY.relative_to(ROOT)).as_posix()
                link = f"[{match[1]}]({target}#{anchor})"
                cell.source = cell.source[: match.start(1)] + link + cell.source[match.end(1) :]
                break


# --- all of it ---------------------------------------------------------------------------------


def prepared(
    notebooks: list[nbformat.NotebookNode], repo: Repository
) -> list[nbformat.NotebookNode]:
    """Copies of ``notebooks`` with the install cell, kernelspec and glossary links in place."""
    result = [copy.deepcopy(notebook) for notebook in notebooks]
    for notebook in result:
        with_install_cell(notebook, repo)
        notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    link_glossary_terms(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    paths = course_notebooks()
    notebooks = [nbformat.read(path, as_version=4) for path in paths]
    changed = []
    for path, before, after in zip(paths, notebooks, prepared(notebooks, repository())):
        if after != before:
            changed.append(path)
            if not args.check:
                nbformat.write(after, path)
    verb = "would change" if args.check else "changed"
    for path in changed:
        print(f"{verb}: {path.relative_to(ROOT)}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
