"""The course as a learner meets it: JupyterLab in a real browser, driven through its menus.

Each notebook is opened in JupyterLab, its saved outputs are cleared, and Run > Run All Cells
runs it in a fresh kernel. Then every cell that showed a pandas table, a chart or a widget when
it was saved must show one again, and no cell may show a traceback. The dashboard is also
clicked through: a short run to the end, and a long run cut short with Stop.

Screenshots of every notebook, and of any failure, are saved under ``test-artifacts/browser/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser_support import (
    CHROMIUM,
    PANDAS_TABLE,
    Dashboard,
    JupyterLab,
    NotebookInLab,
    jupyterlab_server,
    kernel_name,
    launch_chromium,
    screenshots,
    stored_cells,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DASHBOARD = ROOT / "notebooks" / "07-dashboard.ipynb"
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
        expect(dashboard.root.locator("img")).to_be_visible()
        dashboard.screenshot(ARTIFACTS / "dashboard-finished.png")

        slowest, most = dashboard.limits("Workers")[0], dashboard.limits("Jobs")[1]
        dashboard.set_number("Workers", slowest)
        dashboard.set_number("Jobs", most)
        dashboard.button("Run").click()
        expect(dashboard.state).to_have_text("running")
        dashboard.button("Stop").click()
        # Well inside the dashboard's own time limit, so this "stopped" is the button's doing.
        expect(dashboard.state).to_have_text("stopped", timeout=20_000)
        dashboard.wait_for_counts(f"processing === 0 && completed + failed < {most}")
        expect(dashboard.button("Run")).to_be_enabled()
        dashboard.screenshot(ARTIFACTS / "dashboard-stopped.png")


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
