"""What is made from the notebooks and course.toml is up to date, and made the way it promises.

``make course-files`` writes the notebooks' install cells, kernelspecs and glossary links, and
the README's syllabus and Binder link. These tests fail when it needs running again (after a
notebook is added, split or changed, or ``course.toml`` is), and check the promises those files
make: one repository name, a silent install cell, a clean open in JupyterLab.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from tools import colab_cells, course, update_readme

NOTEBOOKS = course.course_notebooks()
README = course.ROOT / "README.md"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_notebooks_are_prepared_and_preparing_again_changes_nothing():
    assert colab_cells.main(["--check"]) == 0, "run `make course-files`"
    notebooks = [read(path) for path in NOTEBOOKS]
    once = colab_cells.prepared(notebooks, course.repository())
    assert colab_cells.prepared(once, course.repository()) == once


def test_the_readme_syllabus_and_binder_link_are_up_to_date():
    assert update_readme.main(["--check"]) == 0, "run `make course-files`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_code_cell_is_the_silent_install_cell(path: Path):
    code = [cell for cell in read(path).cells if cell.cell_type == "code"]
    assert colab_cells.is_install_cell(code[0])
    assert sum(colab_cells.is_install_cell(cell) for cell in code) == 1
    assert code[0].outputs == [], "the install cell must print nothing where the package imports"
    assert code[0].source == colab_cells.install_source(course.repository())
    assert course.repository().pip_source in code[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_kernelspec_is_the_one_jupyterlab_finds(path: Path):
    """JupyterLab marks a notebook as changed when its kernelspec differs from the kernel's."""
    installed = KernelSpecManager().get_kernel_spec("python3")
    stored = read(path).metadata["kernelspec"]
    assert stored == {
        "display_name": installed.display_name,
        "language": installed.language,
        "name": "python3",
    }


def test_every_glossary_term_is_linked_from_a_notebook():
    markdown = "\n".join(
        cell.source
        for path in NOTEBOOKS
        for cell in read(path).cells
        if cell.cell_type == "markdown"
    )
    missing = [
        term
        for term, anchor in colab_cells.glossary_terms().items()
        if f"](../book/glossary.md#{anchor})" not in markdown
    ]
    assert not missing, f"terms no notebook mentions, or not linked: {missing}"


def test_links_go_to_the_first_mention_and_leave_code_and_links_alone():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## Leases\n\nSee `lease` and [a lease](x.md)."),
            nbformat.v4.new_markdown_cell("A worker holds a lease. Later, a **lease**."),
        ]
    )
    colab_cells.link_glossary_terms([notebook])
    first, second = (cell.source for cell in notebook.cells)
    assert "glossary.md#lease" not in first
    assert "**[lease](../book/glossary.md#lease)**" in second
    assert second.count("glossary.md#lease") == 1


def test_one_repository_name_everywhere():
    repo = course.repository()
    assert f"[binder-launch]: {repo.binder_url('notebooks/00-start-here.ipynb')}" in (
        README.read_text(encoding="utf-8")
    )
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        names = set(re.findall(r"github\.com/([\w.-]+/[\w.-]+?)(?:@|/|\.git|\")", text))
        assert names <= {repo.name}, f"{path.name} names {names}"


def test_the_syllabus_has_a_row_per_notebook_with_a_title_and_a_goal():
    rows = course.chapters()
    assert [row.path for row in rows] == NOTEBOOKS
    assert all(row.title and row.goal and row.minutes >= 5 for row in rows)


def test_a_stated_time_wins_over_the_estimate(tmp_path: Path):
    path = tmp_path / "42-example.ipynb"
    cells = [
        nbformat.v4.new_markdown_cell("# 42 · Example\n\n**Time:** about 25 minutes"),
        nbformat.v4.new_markdown_cell("## Learning goals\n\n- read a table;\n- write one."),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    row = course.chapter(path)
    assert (row.title, row.goal, row.minutes, row.minutes_stated) == (
        "42 · Example",
        "Read a table.",
        25,
        True,
    )


def test_the_readme_links_lead_somewhere():
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    local = [t for t in targets if "://" not in t]
    assert local, "the README links no file of the repository"
    broken = [t for t in local if not (course.ROOT / t).exists()]
    assert not broken, f"README links to nothing: {broken}"


def _layout_block() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("<!-- layout:start -->") : text.index("<!-- layout:end -->")]


def test_the_readme_layout_names_every_module_of_the_package_and_nothing_else():
    """The package is course material: its map in the README must match the tree, both ways."""
    package = course.ROOT / "jobqueue_lab"
    layout = _layout_block()
    named = set(re.findall(r"[\w]+\.py\b", layout))
    shown = [
        path.relative_to(package)
        for path in sorted(package.iterdir()) + sorted((package / "stores").iterdir())
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and (path / "__init__.py").exists())
    ]
    missing = [
        str(path) for path in shown if path.name not in named and f"{path.name}/" not in layout
    ]
    assert not missing, f"the README's layout does not name {missing}"
    modules = {path.name for path in package.rglob("*.py")}
    gone = sorted(name for name in named if name not in modules and name != "run.py")
    assert not gone, f"the README's layout names modules the package does not have: {gone}"
