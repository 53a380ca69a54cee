"""Build the course website from the committed, executed notebooks: ``make site``.

    python tools/build_site.py                    # the repository course.toml names
    python tools/build_site.py --repo owner/name  # launch buttons for another repository

The site is a Jupyter Book (1.x: Sphinx with MyST-NB). The notebooks are not run again: they
are stored executed and nbval has checked those outputs, so the site shows what the tests saw.
The build treats every warning as an error, so a broken link, a missing page or an unknown role
fails it.

The book is assembled in ``build/site-src/`` with the repository's own layout, so the links
between notebooks and pages work unchanged: ``book/*.md`` (landing page, glossary, rules,
reference), ``notebooks/NN-*.ipynb`` and their worked solutions. What is made here rather than
written by hand:

- the syllabus on the landing page and the table of contents, from the notebooks present
  (``tools/course.py``);
- the notebooks' install cells, for the repository being built for (``tools/colab_cells.py``);
  a link from a notebook to a file outside the book (the package's source, the README) goes to
  that file on GitHub;
- a page per worked solution (``notebooks/solutions/*.py``), in a section of its own at the end;
- ``_config.yml``, with the launch buttons (Binder at the notebook in JupyterLab, and Colab).

The dashboard's saved widgets are drawn by ipywidgets' standalone renderer
(``@jupyter-widgets/html-manager``), which the site serves itself rather than from a CDN: it is
fetched once with ``npm pack`` at a pinned version and checked against its published hash.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import colab_cells, course

ROOT = course.ROOT
BOOK = ROOT / "book"
SOLUTIONS = course.NOTEBOOKS / "solutions"
SOURCE = ROOT / "build" / "site-src"
OUTPUT = ROOT / "build" / "site"
CACHE = ROOT / "build" / "cache"

WIDGETS_PACKAGE = "@jupyter-widgets/html-manager"
WIDGETS_VERSION = "1.0.15"
WIDGETS_INTEGRITY = (
    "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="
)
WIDGETS_DIR = "widgets"  # under _static/
REFERENCE_PAGES = ("glossary", "rules", "reference")
SYLLABUS_MARKER = re.compile(r"^<!-- syllabus:.*-->$", re.M)
LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")


def html_dir(output: Path = OUTPUT) -> Path:
    """Where the built site is: open ``index.html`` there."""
    return output / "_build" / "html"


# --- assembling the book ---------------------------------------------------------------------


def assemble(repo: course.Repository, source: Path = SOURCE) -> None:
    shutil.rmtree(source, ignore_errors=True)
    (source / "book").mkdir(parents=True)
    for page in BOOK.glob("*.md"):
        shutil.copy2(page, source / "book" / page.name)
    shutil.copytree(BOOK / "_static", source / "_static")
    shutil.copytree(BOOK / "_ext", source / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    chapters = course.chapters()
    landing = source / "book" / "index.md"
    table = course.syllabus_table(chapters, link_prefix="../")
    table += f"\n\n{course.syllabus_note(chapters)}"
    landing.write_text(SYLLABUS_MARKER.sub(lambda _: table, landing.read_text()))

    paths = [c.path for c in chapters]
    notebooks = colab_cells.prepared([nbformat.read(p, as_version=4) for p in paths], repo)
    (source / "notebooks").mkdir()
    for path, notebook in zip(paths, notebooks):
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = outside_links_to_repository(cell.source, path.parent, source, repo)
        nbformat.write(notebook, source / path.relative_to(ROOT))

    solution_pages = write_solutions(source, chapters)
    write_toc(source, chapters, solution_pages)
    write_config(source, repo)
    install_widget_renderer(source / "_static" / WIDGETS_DIR)


def outside_links_to_repository(
    markdown: str, folder: Path, source: Path, repo: course.Repository
) -> str:
    """Point relative links to files the book leaves out (the package, the README) at GitHub."""

    def replace(match: re.Match[str]) -> str:
        target = match[2]
        if "://" in target or target.startswith("mailto:"):
            return match[0]
        in_repository = (folder / target).resolve()
        if not in_repository.is_relative_to(ROOT) or not in_repository.exists():
            return match[0]
        if (source / in_repository.relative_to(ROOT)).exists():
            return match[0]
        return f"{match[1]}{repo.file_url(in_repository.relative_to(ROOT).as_posix())}{match[3]}"

    return LINK.sub(replace, markdown)


def write_solutions(source: Path, chapters: list[course.Chapter]) -> list[str]:
    """A page per ``notebooks/solutions/NN_*.py``, titled after notebook ``NN``."""
    titles = {c.path.name[:2]: c.title for c in chapters}
    (source / "notebooks" / "solutions").mkdir()
    (source / "book" / "solutions").mkdir()
    pages = []
    for solution in sorted(SOLUTIONS.glob("[0-9][0-9]_*.py")):
        shutil.copy2(solution, source / "notebooks" / "solutions" / solution.name)
        title = titles.get(solution.name[:2], solution.stem)
        page = source / "book" / "solutions" / f"{solution.stem}.md"
        page.write_text(
            f"# Solutions: {title}\n\n"
            f"The worked solutions to the exercises of this notebook, as "
            f"`notebooks/solutions/{solution.name}` has them.\n\n"
            f"```{{literalinclude}} ../../notebooks/solutions/{solution.name}\n"
            ":language: python\n```\n"
        )
        pages.append(f"book/solutions/{solution.stem}")
    return pages


def write_toc(source: Path, chapters: list[course.Chapter], solution_pages: list[str]) -> None:
    toc = {
        "format": "jb-book",
        "root": "book/index",
        "parts": [
            {
                "caption": "The course",
                "chapters": [{"file": c.relative_path.removesuffix(".ipynb")} for c in chapters],
            },
            {
                "caption": "Reference",
                "chapters": [{"file": f"book/{page}"} for page in REFERENCE_PAGES],
            },
            {
                "caption": "Worked solutions",
                "chapters": [
                    {"file": "book/solutions", "sections": [{"file": p} for p in solution_pages]}
                ],
            },
        ],
    }
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))


def write_config(source: Path, repo: course.Repository) -> None:
    config = {
        "title": "How job queues handle failure",
        "author": "the jobqueue-lab authors",
        "copyright": "the jobqueue-lab authors",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "repository": {"url": repo.url, "branch": repo.branch, "path_to_book": ""},
        "launch_buttons": {
            "notebook_interface": "jupyterlab",
            "binderhub_url": "https://mybinder.org",
            "colab_url": "https://colab.research.google.com",
        },
        "html": {"use_repository_button": True, "favicon": "_static/favicon.svg"},
        "parse": {"myst_enable_extensions": ["colon_fence", "deflist"]},
        "sphinx": {
            "extra_extensions": ["sphinx.ext.autodoc"],
            "local_extensions": {"unique_scripts": "_ext/"},
            "config": {
                # Without it the theme logs an error on a reader's first visit.
                "html_context": {"default_mode": "auto"},
                "myst_heading_anchors": 3,  # glossary.md#lease, as on GitHub
                "nb_ipywidgets_js": {f"{WIDGETS_DIR}/embed.js": {}},
                "autodoc_member_order": "bysource",
                "autodoc_typehints": "signature",
                "html_show_sourcelink": False,
            },
        },
    }
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


# --- the widget renderer -----------------------------------------------------------------------


def install_widget_renderer(target: Path) -> None:
    """Copy ipywidgets' standalone renderer (its script and the fonts it loads) to ``target``."""
    tarball = widget_renderer_tarball()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/dist/")
            if member.isfile() and member.name.startswith("package/dist/") and "/" not in name:
                if name.endswith(".map") or "amd" in name:
                    continue
                (target / name).write_bytes(archive.extractfile(member).read())
            elif member.name == "package/LICENSE":
                (target / "LICENSE").write_bytes(archive.extractfile(member).read())


def widget_renderer_tarball() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"jupyter-widgets-html-manager-{WIDGETS_VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(
                f"make site needs npm to fetch {WIDGETS_PACKAGE} {WIDGETS_VERSION} once "
                "(it draws the dashboard's saved widgets); install Node.js's npm"
            )
        subprocess.run(
            [npm, "pack", "--silent", f"{WIDGETS_PACKAGE}@{WIDGETS_VERSION}"],
            cwd=CACHE,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if f"sha512-{digest}" != WIDGETS_INTEGRITY:
        tarball.unlink()
        raise SystemExit(f"{tarball.name} does not match its published hash; removed it")
    return tarball


# --- building ----------------------------------------------------------------------------------


def build(source: Path = SOURCE, output: Path = OUTPUT) -> Path:
    """Run Jupyter Book with warnings as errors; return the folder of the HTML site."""
    shutil.rmtree(output, ignore_errors=True)
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
        "--path-output", str(output), "--warningiserror", "--keep-going",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"the site did not build (exit {result.returncode}); see above")
    site = html_dir(output)
    (site / "index.html").write_text(
        '<!DOCTYPE html>\n<meta charset="utf-8">\n<title>Redirecting</title>\n'
        '<meta http-equiv="refresh" content="0; url=book/index.html">\n'
        '<a href="book/index.html">The course starts here.</a>\n'
    )
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="owner/name on GitHub (default: course.toml's)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to build")
    args = parser.parse_args(argv)
    repo = course.repository(args.repo)
    source = args.output.parent / f"{args.output.name}-src"
    assemble(repo, source)
    site = build(source, args.output)
    print(f"The site is in {site.relative_to(ROOT) if site.is_relative_to(ROOT) else site}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
