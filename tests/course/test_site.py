"""The course website, built as ``make site`` builds it and read in real Chromium.

The site is built once for the module, for a repository that is *not* the one in
``course.toml`` (``REPO=`` on the command line), so the launch buttons prove that the configured
name reaches every page. A local HTTP server serves it, the way a static host would. The tests
skip, saying why, where Jupyter Book, npm (which fetches the widget renderer once) or Chromium is
missing.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import json
import re
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser_support import CHROMIUM, WIDGET_VIEW, launch_chromium
from tools import build_site, colab_cells, course

pytestmark = pytest.mark.site

REPO = "site-test-owner/site-test-course"
TABLE_HTML = re.compile(r'class="dataframe|<table id="T_')


def _missing() -> str | None:
    if importlib.util.find_spec("jupyter_book") is None:
        return "Jupyter Book is not installed (pip install -e '.[site]')"
    cached = build_site.CACHE / f"jupyter-widgets-html-manager-{build_site.WIDGETS_VERSION}.tgz"
    if shutil.which("npm") is None and not cached.exists():
        return "npm is missing, and make site needs it once to fetch the widget renderer"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML folder of a fresh build, made by the same script as ``make site``."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    output = tmp_path_factory.mktemp("site") / "site"
    assert build_site.main(["--repo", REPO, "--output", str(output)]) == 0
    return build_site.html_dir(output)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (on Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


# --- reading the built HTML ----------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        if tag == "a" and found.get("href"):
            self.links.append(found["href"])


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def notebook_page(site: Path, notebook: Path) -> Path:
    return site / "notebooks" / f"{notebook.stem}.html"


# --- what the site must contain --------------------------------------------------------------


def test_every_notebook_has_a_page_and_a_place_in_the_contents(site: Path):
    landing = (site / "book" / "index.html").read_text(encoding="utf-8")
    for notebook in course.course_notebooks():
        assert notebook_page(site, notebook).exists(), f"no page for {notebook.name}"
        link = f"../notebooks/{notebook.stem}.html"
        assert link in landing, f"{notebook.name} is not on the landing page"


def test_the_syllabus_has_one_row_per_notebook(site: Path):
    landing = (site / "book" / "index.html").read_text(encoding="utf-8")
    syllabus = landing.split('id="syllabus"')[1].split("</table>")[0]
    link = r'<a class="reference internal" href="\.\./notebooks/([^"#]+)\.html'
    rows = re.findall(link, syllabus)
    assert rows == [p.stem for p in course.course_notebooks()]


def test_every_internal_link_resolves(site: Path):
    broken = []
    for page in pages(site):
        for href in parse(page).links:
            if urlsplit(href).scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target, fragment = urldefrag(urljoin(page.as_uri(), href))
            path = Path(urlsplit(target).path)
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {href} (no such file)")
            elif fragment and path.suffix == ".html" and fragment not in parse(path).ids:
                broken.append(f"{page.relative_to(site)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_the_notebooks_link_the_glossary(site: Path):
    linked = set()
    for notebook in course.course_notebooks():
        for href in parse(notebook_page(site, notebook)).links:
            if href.startswith("../book/glossary.html#"):
                linked.add(href.split("#")[1])
    terms = set(colab_cells.glossary_terms().values())
    assert terms <= linked, f"glossary terms no notebook links: {sorted(terms - linked)}"


def test_every_notebook_page_has_launch_buttons_for_the_configured_repository(site: Path):
    for notebook in course.course_notebooks():
        path = f"notebooks/{notebook.name}"
        links = set(parse(notebook_page(site, notebook)).links)
        binder = f"https://mybinder.org/v2/gh/{REPO}/main?urlpath=lab/tree/{path}"
        colab = f"https://colab.research.google.com/github/{REPO}/blob/main/{path}"
        assert binder in links, f"{notebook.name}: no Binder button to {binder}"
        assert colab in links, f"{notebook.name}: no Colab button to {colab}"
        others = [link for link in links if "mybinder.org" in link or "colab." in link]
        assert set(others) == {binder, colab}, others


def test_the_site_shows_the_install_cell_nowhere_and_its_repository_nowhere_else(site: Path):
    for notebook in course.course_notebooks():
        html = notebook_page(site, notebook).read_text(encoding="utf-8")
        assert "JOBQUEUE_LAB_INSTALL_FROM" not in html
        assert "OWNER/" not in html, f"{notebook.name} names the placeholder repository"


# --- in the browser ---------------------------------------------------------------------------


def _expected(notebook: Path) -> dict[str, int]:
    """How many charts, tables and widgets the saved notebook shows, output by output."""
    counts = {"images": 0, "tables": 0, "widgets": 0}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if colab_cells.SITE_HIDES in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                counts["widgets"] += 1
            elif "image/png" in data or "image/svg+xml" in data:
                counts["images"] += 1
            elif TABLE_HTML.search("".join(data.get("text/html", ""))):
                counts["tables"] += 1
    return counts


_RENDERED = """() => {
  const outside = (el) => !el.closest('.jupyter-widgets');
  const outputs = [...document.querySelectorAll('.cell_output')];
  const views = 'script[type="application/vnd.jupyter.widget-view+json"]';
  return {
    images: outputs.flatMap(o => [...o.querySelectorAll('img')]).filter(outside).length,
    tables: outputs.flatMap(o => [...o.querySelectorAll('table.dataframe, table[id^="T_"]')])
      .filter(outside).length,
    widgets: outputs.filter(o => o.querySelector(views) && o.querySelector('.jupyter-widgets'))
      .length,
  };
}"""


def test_every_page_loads_without_console_errors(site: Path, server: str, browser):
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: m.type == "error"
        and problems.append(f"console: {m.text} ({m.location.get('url') or 'no address'})"),
    )
    page.on("pageerror", lambda error: problems.append(f"exception: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
    try:
        for path in pages(site):
            page.goto(server + path.relative_to(site).as_posix(), wait_until="networkidle")
            assert not problems, f"{path.relative_to(site)}:\n" + "\n".join(problems)
    finally:
        page.close()


@pytest.mark.parametrize("notebook", course.course_notebooks(), ids=lambda p: p.stem)
def test_the_notebook_page_shows_its_charts_tables_and_widgets(
    notebook: Path, site: Path, server: str, browser
):
    expected = _expected(notebook)
    page = browser.new_page()
    try:
        page.goto(server + f"notebooks/{notebook.stem}.html", wait_until="networkidle")
        # The widgets are drawn by a script after the page has loaded: wait, with a deadline,
        # until the page shows what the notebook holds, then compare (and report) what it shows.
        shows_all = f"(want) => JSON.stringify(({_RENDERED})()) === want"
        want = json.dumps(expected, separators=(",", ":"))
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(shows_all, arg=want, timeout=30_000)
        rendered = page.evaluate(_RENDERED)
        assert rendered == expected
        assert not page.get_by_text("Error displaying widget").count()
    finally:
        page.close()


def test_the_dashboard_page_draws_its_saved_controls(site: Path, server: str, browser):
    [dashboard] = [p for p in course.course_notebooks() if "dashboard" in p.stem]
    page = browser.new_page()
    try:
        page.goto(server + f"notebooks/{dashboard.stem}.html", wait_until="networkidle")
        widgets = page.locator(".cell_output .jupyter-widgets")
        widgets.first.wait_for(timeout=30_000)
        assert widgets.get_by_role("button", name="Run").count() == 1
        assert widgets.get_by_role("button", name="Stop").count() == 1
        assert widgets.locator("input, select").count() >= 3, "the settings are not drawn"
    finally:
        page.close()
