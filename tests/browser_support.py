"""Drive a real JupyterLab in headless Chromium, the way a learner clicks through the course.

nbval proves that notebooks execute; it cannot see whether JupyterLab renders the tables, charts
and widgets a learner is meant to look at. These helpers start a private JupyterLab server,
open one notebook per browser page, run it through the menus and report what rendered.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import matplotlib.image
import numpy as np
from matplotlib.colors import to_rgb
from playwright.sync_api import Browser, Locator, Page, Playwright, expect
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Written into the server's private settings directory. Autosave off: the tests clear and re-run
# notebooks that live in the repository, and must never write them back. News and update checks
# off: no pop-up covers the notebook and nothing reaches the network.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

STDERR = "application/vnd.jupyter.stderr"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PANDAS_TABLE = "table.dataframe, table[id^='T_']"


def launch_chromium(playwright: Playwright) -> Browser:
    """The system Chromium, headless. Tests never download a browser of their own."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class JupyterLab:
    """A running server: where it listens, the token it demands, and where it logs.

    ``start_url`` is the URL the server printed for the learner to open, token included.
    """

    base_url: str
    token: str
    log: Path
    start_url: str = ""

    def notebook_url(self, path: str, workspace: str) -> str:
        """Open ``path`` in a workspace of its own, so no other notebook is restored next to it."""
        where = f"workspaces/{quote(workspace)}/tree/{quote(path)}"
        return f"{self.base_url}/lab/{where}?token={self.token}"

    def api(self, method: str, endpoint: str) -> object:
        request = urllib.request.Request(
            f"{self.base_url}/api/{endpoint}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every session, so a finished notebook's threads stop competing for the CPU."""
        for session in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{session['id']}")


@contextmanager
def jupyterlab_server(root_dir: Path, home: Path, *, timeout: float = 60) -> Iterator[JupyterLab]:
    """Run JupyterLab from this Python environment on a free local port, with a random token.

    Settings, workspaces, runtime files, trust database and checkpoints all go under ``home``,
    so a test run leaves nothing behind in the repository or in the user's Jupyter setup.
    """
    token = secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    with _serve(command, root_dir, home, timeout, token=token) as lab:
        yield lab


@contextmanager
def make_lab_server(root_dir: Path, home: Path, *, timeout: float = 60) -> Iterator[JupyterLab]:
    """Run the command ``make lab`` runs, as it stands in the Makefile, on a free port.

    Only what keeps the test private is added (no browser, the port, the folders under
    ``home``). The token is the one the server made up and printed, read from its log.
    """
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "lab"],
        cwd=root_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    [line] = [line for line in dry_run.stdout.splitlines() if re.search(r"jupyter lab\b", line)]
    # The Makefile names its environment's jupyter; use the one running these tests instead.
    _, _, *options = shlex.split(line)
    with _serve([sys.executable, "-m", "jupyterlab", *options], root_dir, home, timeout) as lab:
        yield lab


@contextmanager
def _serve(
    command: list[str], root_dir: Path, home: Path, timeout: float, *, token: str | None = None
) -> Iterator[JupyterLab]:
    names = ("config", "data", "runtime", "ipython", "settings", "workspaces", "checkpoints")
    dirs = {name: home / name for name in names}
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    for name, values in LAB_SETTINGS.items():
        settings_file = dirs["settings"] / name
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(json.dumps(values))

    port = free_port()
    command = [
        *command,
        "--no-browser",
        f"--port={port}",
        "--port-retries=0",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # An absolute checkpoint_dir gathers every checkpoint here instead of beside each file.
        f"--FileCheckpoints.checkpoint_dir={dirs['checkpoints']}",
    ]
    if os.geteuid() == 0 and "--allow-root" not in command:
        command.append("--allow-root")
    environment = os.environ | {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "IPYTHONDIR": str(dirs["ipython"]),
    }
    log_path = home / "jupyterlab.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=root_dir
        )
    try:
        start_url = _wait_for_start_url(log_path, port, server, timeout)
        found_token = token or re.search(r"[?&]token=(\w+)", start_url)[1]
        lab = JupyterLab(f"http://127.0.0.1:{port}", found_token, log_path, start_url)
        _wait_until_serving(lab, server, timeout)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_start_url(log: Path, port: int, server: subprocess.Popen, timeout: float) -> str:
    """The first ``http://127.0.0.1:<port>/...`` URL the server prints, token included."""
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/\S*")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(errors="replace"))
        if found:
            return found[0]
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=0.2)
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{_tail(log)}")
    raise TimeoutError(f"JupyterLab printed no URL within {timeout}s:\n{_tail(log)}")


def _wait_until_serving(lab: JupyterLab, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError):
            lab.api("GET", "status")
            return
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=0.2)
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{_tail(lab.log)}")
    raise TimeoutError(f"JupyterLab did not answer within {timeout}s:\n{_tail(lab.log)}")


def status_without_token(url: str) -> int:
    """The HTTP status ``url`` answers with when no token is given."""
    request = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class StoredCell:
    """What a cell of the saved .ipynb showed, i.e. what a fresh run in the browser must show."""

    index: int
    runs: bool
    table: bool
    image: bool
    widget: bool


def stored_cells(notebook: Path) -> list[StoredCell]:
    """Read the saved notebook: which cells run, and which showed a table, a chart or a widget."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [_stored_cell(index, cell) for index, cell in enumerate(cells)]


def _stored_cell(index: int, cell: dict) -> StoredCell:
    source = "".join(cell.get("source", ""))
    data = [output.get("data", {}) for output in cell.get("outputs", [])]
    html = "".join("".join(item.get("text/html", "")) for item in data)
    return StoredCell(
        index=index,
        runs=cell["cell_type"] == "code" and bool(source.strip()),
        table='class="dataframe' in html or '<table id="T_' in html,
        image=any("image/png" in item or "image/svg+xml" in item for item in data),
        widget=any(WIDGET_VIEW in item for item in data),
    )


def kernel_name(notebook: Path) -> str | None:
    metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    return metadata.get("kernelspec", {}).get("name")


class NotebookInLab:
    """One notebook open in JupyterLab, driven through the menus as a learner would."""

    def __init__(self, page: Page, lab: JupyterLab, path: str) -> None:
        self.page = page
        self.lab = lab
        self.path = path
        self.panel = page.locator(".jp-NotebookPanel")
        self.cells = self.panel.locator(".jp-Notebook .jp-Cell")
        # The status bar, not the toolbar: the toolbar says "idle" before any kernel exists, and
        # JupyterLab drops "Run All Cells" while the notebook has no kernel.
        self.kernel_status = page.locator(".jp-StatusBar-TextItem", has_text=_KERNEL_IDLE)

    def open(self, timeout: float = 60) -> None:
        """Load JupyterLab with this notebook and wait until its kernel is idle."""
        workspace = re.sub(r"\W+", "-", self.path)
        self.page.goto(self.lab.notebook_url(self.path, workspace))
        expect(self.cells.first).to_be_visible(timeout=timeout * 1000)
        expect(self.kernel_status).to_be_visible(timeout=timeout * 1000)

    def choose(self, menu: str, item: str) -> None:
        """Click a menu in the menu bar, then one of its items."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=_exactly(menu)).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=_exactly(item)).click()

    def clear_and_run_all(self, cells: list[StoredCell], timeout: float = 120) -> None:
        """Clear the stored outputs, so everything checked afterwards comes from this run,
        then run every cell and wait until the kernel has finished."""
        self.choose("Edit", "Clear Outputs of All Cells")
        expect(self.panel.locator(".jp-OutputArea-output")).to_have_count(0)
        self.choose("Run", "Run All Cells")
        self.page.wait_for_function(
            _RUN_FINISHED, arg=[cell.index for cell in cells if cell.runs], timeout=timeout * 1000
        )

    def problems(self, cells: list[StoredCell]) -> list[str]:
        """Everything that went wrong in this run, one line each; empty when the run is good."""
        found = []
        for cell in cells:
            view = self.cells.nth(cell.index)
            outputs = view.locator(".jp-OutputArea-output")
            prompt = view.locator(".jp-InputPrompt").text_content() or ""
            if cell.runs and not _EXECUTED.match(prompt.strip()):
                found.append(f"cell {cell.index} did not run")
            for text in outputs.and_(self.page.locator(f"[data-mime-type='{STDERR}']")).all():
                if "Traceback" in (message := text.text_content() or ""):
                    found.append(f"cell {cell.index} raised: {_last_line(message)}")
            if outputs.filter(has_text="Error displaying widget").count():
                found.append(f"cell {cell.index} could not display its widget")
            if cell.table and not outputs.locator(PANDAS_TABLE).count():
                found.append(f"cell {cell.index} should show a pandas table")
            if cell.image and not outputs.locator("img").count():
                found.append(f"cell {cell.index} should show a chart")
            if cell.widget and not outputs.locator(".jupyter-widgets").count():
                found.append(f"cell {cell.index} should show a widget")
        return found

    def screenshot(self, path: Path) -> None:
        """Save the whole notebook in one picture, by making the window as tall as the notebook.

        Cells out of view are laid out lazily, so the height is measured again after each
        resize until it settles.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size or {"width": 1280, "height": 900}
        scroller = self.panel.locator(".jp-WindowedPanel-outer")
        height = size["height"]
        for _ in range(4):
            space_left = scroller.evaluate(_SPACE_LEFT)
            if space_left <= 0:
                break
            height = min(height + space_left, 12000)
            self.page.set_viewport_size({"width": size["width"], "height": height})
        self.page.screenshot(path=path)
        self.page.set_viewport_size(size)


@contextmanager
def screenshots(notebook: NotebookInLab, stem: Path) -> Iterator[None]:
    """Always save ``<stem>.png`` of the whole notebook; on failure also save the window as it
    was at that moment, as ``<stem>-failed.png``."""
    try:
        yield
    except BaseException:
        with suppress(PlaywrightError):
            stem.parent.mkdir(parents=True, exist_ok=True)
            notebook.page.screenshot(path=stem.with_name(f"{stem.name}-failed.png"))
        raise
    finally:
        with suppress(PlaywrightError):
            notebook.screenshot(stem.with_suffix(".png"))


class Dashboard:
    """The ipywidgets dashboard of the course, found by its CSS classes and labels."""

    def __init__(self, notebook: NotebookInLab) -> None:
        self.page = notebook.page
        state = self.page.locator(".jql-state")
        self.root = notebook.panel.locator(".jp-OutputArea-output", has=state).first
        self.state = self.root.locator(".jql-state")
        self.counts_view = self.root.locator(".jql-counts")

    def button(self, text: str) -> Locator:
        return self.root.get_by_role("button", name=text, exact=True)

    def control(self, description: str) -> Locator:
        """The widget whose description label reads ``description``."""
        label = self.page.locator(".widget-label", has_text=_exactly(description))
        return self.root.locator(".widget-inline-hbox", has=label)

    def limits(self, description: str) -> tuple[int, int]:
        """The smallest and largest value a number control accepts."""
        control = self.control(description)
        slider = control.locator("[role=slider]")
        if slider.count():
            low, high = slider.get_attribute("aria-valuemin"), slider.get_attribute("aria-valuemax")
        else:
            field = control.locator("input")
            low, high = field.get_attribute("min"), field.get_attribute("max")
        return int(float(low)), int(float(high))

    def set_number(self, description: str, value: int) -> None:
        """Type a number into a slider's readout or a number box, as a learner would."""
        control = self.control(description)
        field = control.locator("input")
        if field.count():
            field.fill(str(value))
            field.press("Enter")
            expect(field).to_have_value(str(value))
            return
        readout = control.locator(".widget-readout")
        readout.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(str(value))
        self.page.keyboard.press("Enter")
        expect(readout).to_have_text(str(value))

    def screenshot(self, path: Path) -> None:
        """Save the dashboard alone, growing the window first if it is taller than that."""
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size or {"width": 1280, "height": 900}
        box = self.root.bounding_box() or {"height": 0}
        taller = {"width": size["width"], "height": max(size["height"], int(box["height"]) + 300)}
        self.page.set_viewport_size(taller)
        self.root.screenshot(path=path)
        self.page.set_viewport_size(size)

    def counts(self) -> dict[str, int]:
        """The counts the dashboard shows, e.g. ``{"completed": 9, "failed": 3, ...}``."""
        text = self.counts_view.text_content() or ""
        return {status: int(n) for status, n in re.findall(r"(\w+):\s*(\d+)", text)}

    def wait_for_counts(self, expected: str, *, timeout: float = 60) -> None:
        """Wait until the counts satisfy ``expected``, a JavaScript expression over the
        variables ``completed``, ``failed``, ``pending`` and ``processing``."""
        condition = f"""element => {{
            const shown = Object.fromEntries(
                [...element.textContent.matchAll(/(\\w+):\\s*(\\d+)/g)].map(m => [m[1], +m[2]]));
            const {{completed, failed, pending, processing}} = shown;
            return {expected};
        }}"""
        handle = self.counts_view.element_handle()
        try:
            self.page.wait_for_function(condition, arg=handle, timeout=timeout * 1000)
        except PlaywrightError as error:
            raise AssertionError(f"counts never reached {expected}: {self.counts()}") from error


def counts_where_the_chart_ends(
    png: bytes, colours: Mapping[str, str], jobs: int
) -> dict[str, int]:
    """Read a stacked status chart the way a learner does: how many jobs each colour stands
    for at the chart's right edge.

    The plotting area is where the status colours fill whole columns of pixels (the legend's
    patches are only a few pixels high); its last full column but one, clear of antialiasing
    at the edge, is cut into runs of each colour, and each run is converted into jobs by its
    share of the column's coloured height, which stands for every job in the run.
    """
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[:, :, :3]
    masks = {
        status: np.all(np.abs(pixels - to_rgb(colour)) < 2 / 255, axis=2)
        for status, colour in colours.items()
    }
    per_column = sum(mask.sum(axis=0) for mask in masks.values())
    full = np.flatnonzero(per_column >= per_column.max() * 0.5)
    edge = full.max() - 1
    tall = per_column[edge]
    return {status: round(mask[:, edge].sum() * jobs / tall) for status, mask in masks.items()}


def png_in(image: Locator) -> bytes:
    """The PNG an ``<img>`` element shows; JupyterLab puts image outputs in ``data:`` URLs."""
    source = image.get_attribute("src") or ""
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix), f"not an inline PNG: {source[:40]!r}"
    return base64.b64decode(source.removeprefix(prefix))


_EXECUTED = re.compile(r"^\[\d+\]:$")
_KERNEL_IDLE = re.compile(r"^(?!No Kernel).+ \| Idle$")

# Finished when no cell waits ("[*]"), the kernel is idle, and every cell that should have run
# shows an execution count, unless an error stopped the run (JupyterLab then skips the rest).
# textContent, not innerText: cells scrolled out of view are not laid out, and innerText is
# empty for them.
_RUN_FINISHED = """indices => {
    const panel = document.querySelector('.jp-NotebookPanel');
    const status = panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
    const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
    const prompt = i => cells[i]?.querySelector('.jp-InputPrompt')?.textContent.trim() ?? '';
    if (status !== 'idle' || indices.some(i => prompt(i) === '[*]:')) return false;
    const failed = [...panel.querySelectorAll('.jp-OutputArea-output')]
        .some(output => output.dataset.mimeType === 'application/vnd.jupyter.stderr'
                        && output.textContent.includes('Traceback'));
    return failed || indices.every(i => /^\\[\\d+\\]:$/.test(prompt(i)));
}"""


# How many pixels taller the notebook's scroll area must grow to show its last cell.
_SPACE_LEFT = """scroller => {
    scroller.scrollTop = 0;
    const cells = scroller.querySelectorAll('.jp-Cell');
    if (!cells.length) return 0;
    const bottom = cells[cells.length - 1].getBoundingClientRect().bottom + 24;
    return Math.round(bottom - scroller.getBoundingClientRect().bottom);
}"""


def _exactly(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def _last_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else message
