"""The notebooks run where the course package is not installed, as on Colab.

Colab has pandas, matplotlib and ipywidgets, but not ``jobqueue_lab``. Each notebook's first
code cell (written by ``tools/colab_cells.py``) installs the package when it cannot be
imported. These tests build such an environment: a fresh virtual environment with only pandas,
matplotlib, ipywidgets, ipykernel, nbclient and jinja2 (at the versions the course pins). The
package is built once, as a wheel, from a copy of this checkout, and
``JOBQUEUE_LAB_INSTALL_FROM`` points the install cell at it instead of the repository on
GitHub. Before each notebook the package is uninstalled again, so every notebook's own install
cell has to do the work. Notebook 12's PostgreSQL part is left out, as on Colab, where no
server is named.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from tests.support import RUN_NOTEBOOK, copy_of_the_checkout
from tools import colab_cells, course

pytestmark = pytest.mark.colab

ROOT = course.ROOT
COLAB_HAS = ["pandas", "matplotlib", "ipywidgets", "ipykernel", "nbclient", "jinja2"]
"""What Colab has and the notebooks use. jinja2 is there because pandas' ``Styler``, which the
course's tables use, needs it and Colab has it; pandas does not install it by itself."""

@dataclass(frozen=True)
class ColabLike:
    python: Path
    env: dict[str, str]
    wheel: Path
    repository: Path

    def run(self, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd or self.repository.parent,  # outside the checkout: no package on the path
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="session")
def colab(tmp_path_factory: pytest.TempPathFactory) -> ColabLike:
    home = tmp_path_factory.mktemp("colab")
    repository = copy_of_the_checkout(home / "checkout")
    wheels = home / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, repository],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = wheels.glob("jobqueue_lab-*.whl")

    venv = home / "env"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH",)}
    env.pop("JOBQUEUE_LAB_POSTGRES_URL", None)
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "IPYTHONDIR": str(home / "ipython"),
        "MPLBACKEND": "agg",
        colab_cells.INSTALL_FROM: str(wheel),
    }
    colab = ColabLike(venv / "bin" / "python", env, wheel, repository)
    pins = ROOT / "binder" / "requirements.txt"
    installed = colab.run(colab.python, "-m", "pip", "install", "--quiet", "-c", pins, *COLAB_HAS)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return colab


def test_the_environment_lacks_the_package_until_a_notebook_installs_it(colab: ColabLike):
    colab.run(colab.python, "-m", "pip", "uninstall", "--yes", "--quiet", "jobqueue-lab")
    probe = colab.run(colab.python, "-c", "import jobqueue_lab")
    assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr


@pytest.mark.parametrize("notebook", course.course_notebooks(), ids=lambda p: p.stem)
def test_the_notebook_installs_the_package_and_runs(
    colab: ColabLike, notebook: Path, tmp_path: Path
):
    removed = colab.run(colab.python, "-m", "pip", "uninstall", "--yes", "--quiet", "jobqueue-lab")
    assert removed.returncode == 0, removed.stderr
    copy = colab.repository / notebook.relative_to(ROOT)
    executed = tmp_path / notebook.name
    # Run from outside the checkout, so the kernel cannot import the package from the source tree.
    result = colab.run(colab.python, "-c", RUN_NOTEBOOK, copy, executed, cwd=tmp_path)
    assert result.returncode == 0, f"{notebook.name} failed:\n{result.stderr[-3000:]}"

    cells = nbformat.read(executed, as_version=4).cells
    [install] = [cell for cell in cells if colab_cells.is_install_cell(cell)]
    printed = "".join(output.get("text", "") for output in install.outputs)
    assert f"Installing jobqueue_lab from {colab.wheel}" in printed
    where = colab.run(colab.python, "-c", "import jobqueue_lab; print(jobqueue_lab.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(colab.python.parent.parent)
