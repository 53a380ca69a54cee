"""The course as a learner meets it: JupyterLab in a real browser, driven through its menus.

Each notebook is opened in JupyterLab, its saved outputs are cleared, and Run > Run All Cells
runs it in a fresh kernel. Then every cell that showed a pandas table, a chart or a widget when
it was saved must show one again, and no cell may show a traceback. The dashboard is also
clicked through: a short run to the end, whose chart must end on the counts shown, and a long
run cut short with Stop. And ``make lab`` itself is started: it must ask for its token, open
the first notebook, and serve the package source the notebooks link to.

Screenshots of every notebook, and of any failure, are saved under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from jobqueue_lab.views.charts import STATUS_COLOURS
from jobqueue_lab.views.dashboard import BROKEN_WORKER
from tests.browser_support import (
    CHROMIUM,
    PANDAS_TABLE,
    Dashboard,
    JupyterLab,
    NotebookInLab,
    counts_where_the_chart_ends,
    jupyterlab_server,
    kernel_name,
    launch_chromium,
    make_lab_server,
    png_in,
    screenshots,
    status_without_token,
    stored_cells,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DASHBOARD = ROOT / "notebooks" / "08-dashboard.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with jupyterlab_server(ROOT, tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, lab: JupyterLab) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()
    lab.shut_down_kernels()


def in_lab(page: Page, lab: JupyterLab, notebook: Path) -> NotebookInLab:
    return NotebookInLab(page, lab, notebook.relative_to(ROOT).as_posix())


def open_and_run(view: NotebookInLab, notebook: Path) -> None:
    assert kernel_name(notebook) == "python3", (
        f"{notebook.name} names no python3 kernel, so JupyterLab would ask which one to use"
    )
    view.open()
    view.clear_and_run_all(stored_cells(notebook))


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/ yet")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_and_renders_in_jupyterlab(
    page: Page, lab: JupyterLab, notebook: Path
) -> None:
    saved = notebook.read_bytes()
    view = in_lab(page, lab, notebook)
    with screenshots(view, ARTIFACTS / notebook.stem):
        open_and_run(view, notebook)
        assert view.problems(stored_cells(notebook)) == []
    assert notebook.read_bytes() == saved, "the test must never save the notebook"


@pytest.mark.skipif(not DASHBOARD.exists(), reason=f"{DASHBOARD.name} does not exist yet")
def test_dashboard_runs_to_the_end_and_stops_on_request(page: Page, lab: JupyterLab) -> None:
    view = in_lab(page, lab, DASHBOARD)
    with screenshots(view, ARTIFACTS / "dashboard"):
        open_and_run(view, DASHBOARD)
        dashboard = Dashboard(view)
        expect(dashboard.state).to_have_text("ready")
        expect(dashboard.button("Stop")).to_be_disabled()

        dashboard.set_number("Workers", 3)
        dashboard.set_number("Jobs", 10)
        dashboard.button("Run").click()
        expect(dashboard.state).to_have_text("finished", timeout=60_000)
        dashboard.wait_for_counts("completed + failed === 10 && pending + processing === 0")
        assert dashboard.counts() == expected_counts(workers=3, jobs=10)
        expect(dashboard.root.locator(PANDAS_TABLE)).to_be_visible()
        chart = dashboard.root.locator("img")
        expect(chart).to_be_visible()
        assert_chart_ends_on(png_in(chart), dashboard.counts())
        dashboard.screenshot(ARTIFACTS / "dashboard-finished.png")

        # One worker, 40 jobs of the default handler time: far longer than the wait below, so
        # "stopped" is the button's doing, and each job still stands out in the chart.
        dashboard.set_number("Workers", dashboard.limits("Workers")[0])
        dashboard.set_number("Jobs", 40)
        dashboard.button("Run").click()
        expect(dashboard.state).to_have_text("running")
        dashboard.button("Stop").click()
        expect(dashboard.state).to_have_text("stopped", timeout=10_000)
        dashboard.wait_for_counts("processing === 0 && completed + failed < 40")
        expect(dashboard.root).to_contain_text("Stopped with the Stop button")
        expect(dashboard.button("Run")).to_be_enabled()
        assert_chart_ends_on(png_in(dashboard.root.locator("img")), dashboard.counts())
        dashboard.screenshot(ARTIFACTS / "dashboard-stopped.png")


@pytest.mark.skipif(not DASHBOARD.exists(), reason=f"{DASHBOARD.name} does not exist yet")
def test_the_broken_worker_shows_its_damage_in_the_dashboard(page: Page, lab: JupyterLab) -> None:
    view = in_lab(page, lab, DASHBOARD)
    with screenshots(view, ARTIFACTS / "dashboard-broken"):
        open_and_run(view, DASHBOARD)
        dashboard = Dashboard(view)
        dashboard.control("Worker").locator("select").select_option(label=BROKEN_WORKER)
        dashboard.set_number("Workers", 2)
        dashboard.set_number("Jobs", 6)
        dashboard.button("Run").click()
        expect(dashboard.state).to_have_text("finished", timeout=60_000)
        expect(dashboard.root).to_contain_text("No chart: this store keeps no audit log")
        expect(dashboard.root).to_contain_text("job processed twice")
        expect(dashboard.root).to_contain_text("worker-1 and worker-2 ran it at the same time")
        dashboard.screenshot(ARTIFACTS / "dashboard-broken-finished.png")


def assert_chart_ends_on(png: bytes, counts: dict[str, int]) -> None:
    """The status chart's right edge shows exactly ``counts``, the counts the dashboard shows."""
    drawn = counts_where_the_chart_ends(png, STATUS_COLOURS, jobs=sum(counts.values()))
    assert drawn == counts, f"the chart ends on {drawn}, but the counts say {counts}"


def test_make_lab_asks_for_its_token_opens_the_course_and_serves_the_source(
    browser: Browser, tmp_path: Path
) -> None:
    """The command ``make lab`` runs: on 127.0.0.1, nothing without the token, the first
    notebook at the printed URL, and the repository as its root, so that a link from a
    notebook to the package source opens the file."""
    with make_lab_server(ROOT, tmp_path / "jupyterlab") as lab:
        assert lab.base_url.startswith("http://127.0.0.1:")
        assert status_without_token(f"{lab.base_url}/api/contents") == 403
        assert status_without_token(f"{lab.base_url}/api/contents?token=wrong") == 403
        assert lab.start_url.startswith(f"{lab.base_url}/lab/tree/notebooks/00-start-here.ipynb")
        assert "jobqueue_lab" in {item["name"] for item in lab.api("GET", "contents")["content"]}

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        view = NotebookInLab(page, lab, "notebooks/00-start-here.ipynb")
        with screenshots(view, ARTIFACTS / "make-lab"):
            page.goto(lab.start_url)
            expect(view.panel.first).to_be_visible(timeout=60_000)
            current_document = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
            expect(current_document).to_have_attribute("title", re.compile("00-start-here"))
            view.panel.locator("a", has_text="jobqueue_lab/domain.py").first.click()
            expect(current_document).to_have_attribute(
                "title", re.compile(r"Path: jobqueue_lab/domain\.py"), timeout=20_000
            )
            editor = page.locator(".jp-FileEditor .cm-content").first
            expect(editor).to_contain_text("TRANSITIONS", timeout=20_000)
        page.close()


def test_the_checks_catch_a_notebook_that_no_longer_shows_what_it_saved(
    browser: Browser, tmp_path: Path
) -> None:
    """The checks above are only worth something if they can fail: a notebook whose saved
    outputs promise a table and a chart it no longer draws, and that then raises, is caught."""
    notebook = tmp_path / "notebooks" / "broken.ipynb"
    write_broken_notebook(notebook)
    with jupyterlab_server(tmp_path, tmp_path / "jupyterlab") as scratch_lab:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        view = NotebookInLab(page, scratch_lab, "notebooks/broken.ipynb")
        with screenshots(view, ARTIFACTS / "checks-catch-a-broken-notebook"):
            view.open()
            view.clear_and_run_all(stored_cells(notebook))
            assert view.problems(stored_cells(notebook)) == [
                "cell 0 should show a pandas table",
                "cell 1 should show a chart",
                "cell 2 raised: ZeroDivisionError: division by zero",
                "cell 3 did not run",
            ]
        page.close()


def write_broken_notebook(path: Path) -> None:
    saved_table = {"text/html": '<table class="dataframe"></table>', "text/plain": "table"}
    saved_chart = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "print('no table')", outputs=[nbformat.v4.new_output("display_data", saved_table)]
        ),
        nbformat.v4.new_code_cell(
            "print('no chart')", outputs=[nbformat.v4.new_output("display_data", saved_chart)]
        ),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("after_the_error = True"),
    ]
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)


def expected_counts(*, workers: int, jobs: int) -> dict[str, int]:
    """The final counts the same settings give when the dashboard runs in Python, unseen.

    Handler time is left out: it changes how long a run takes, never how it ends.
    """
    from jobqueue_lab.views.dashboard import Dashboard as PythonDashboard

    oracle = PythonDashboard()
    oracle.workers.value, oracle.jobs.value = workers, jobs
    oracle.handler_seconds.value = 0.0
    oracle.run()
    assert oracle.wait(timeout=30), "the dashboard did not finish a short run in Python"
    return {status.value: count for status, count in oracle.store.counts().items()}
