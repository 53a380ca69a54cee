"""The Binder setup, proved on this machine without Docker.

Binder builds an image with repo2docker from the files in ``binder/``: ``runtime.txt`` picks
the Python, ``requirements.txt`` pins the packages, ``postBuild`` installs the course package,
``apt.txt`` installs PostgreSQL, and ``start`` runs a throwaway PostgreSQL server in every
session for notebook 12. These tests check four things. The pins agree with ``pyproject.toml``.
repo2docker, asked only for its Dockerfile (``--no-build`` needs no Docker daemon), uses all
five files. ``start`` brings up a server that a store can use, and lets the course open when it
cannot. And an environment built from ``requirements.txt`` and ``postBuild`` alone, a fresh
virtual environment with the pinned requirements and ``postBuild`` run from the repository
root, runs every notebook.

Building that environment downloads the pinned packages. pip's own download cache (the one
``make install`` fills too) is left on, so only the first run on a machine pays for it.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import RUN_NOTEBOOK, copy_of_the_checkout

pytestmark = pytest.mark.binder

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
REQUIREMENTS = BINDER / "requirements.txt"
NOTEBOOKS = sorted(
    path for path in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
)
BINDER_UID = "1000"
"""The user id Binder builds images for; the repository is copied in as that user's."""


def pins() -> dict[str, Version]:
    """``binder/requirements.txt`` as ``{normalised name: version}``."""
    found = {}
    for line in _requirement_lines():
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{line!r} is not an exact pin"
        found[canonicalize_name(requirement.name)] = Version(specifier.version)
    return found


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def runtime_python() -> str:
    """The ``x.y`` of ``binder/runtime.txt``, e.g. ``3.11``."""
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"runtime.txt must read python-X.Y, not {text!r}"
    return match.group(1)


def _requirement_lines() -> list[str]:
    lines = REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


# --- the pins agree with pyproject.toml --------------------------------------------------------


def test_every_requirement_is_one_exact_pin_so_the_file_also_works_as_pip_constraints() -> None:
    for line in _requirement_lines():
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", line), (
            f"{line!r} is not 'name==version'; the Makefile uses this file as constraints"
        )
    names = [canonicalize_name(Requirement(line).name) for line in _requirement_lines()]
    assert len(names) == len(set(names)), f"a package is pinned twice: {sorted(names)}"


def test_every_lab_dependency_is_pinned() -> None:
    lab = [Requirement(line) for line in pyproject()["project"]["optional-dependencies"]["lab"]]
    unpinned = [str(req) for req in lab if canonicalize_name(req.name) not in pins()]
    assert unpinned == [], f"pin these in binder/requirements.txt: {unpinned}"


def test_every_pin_is_inside_the_range_pyproject_allows() -> None:
    project = pyproject()["project"]
    extras = project["optional-dependencies"].values()
    declared = [*project["dependencies"], *(line for extra in extras for line in extra)]
    pinned = pins()
    outside = [
        f"{req.name}=={pinned[canonicalize_name(req.name)]} is outside {req.specifier}"
        for req in map(Requirement, declared)
        if canonicalize_name(req.name) in pinned
        and pinned[canonicalize_name(req.name)] not in req.specifier
    ]
    assert outside == []


def test_the_binder_python_is_one_the_project_supports() -> None:
    requires_python = pyproject()["project"]["requires-python"]
    assert Version(runtime_python()) in Requirement(f"python{requires_python}").specifier


def test_these_tests_ran_with_the_pinned_versions() -> None:
    """The pins are only known to work if the project's own environment has them."""
    installed = {}
    for name in pins():
        try:
            installed[name] = Version(importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError:
            continue
    differ = {name: str(v) for name, v in installed.items() if v != pins()[name]}
    assert installed, "none of the pinned packages is installed here"
    assert differ == {}, f"installed versions differ from the pins; run `make install`: {differ}"


def test_postbuild_is_a_bash_script_that_stops_at_the_first_failure() -> None:
    script = (BINDER / "postBuild").read_text(encoding="utf-8")
    assert script.startswith("#!/bin/bash\n")
    assert re.search(r"^set -e", script, re.MULTILINE), "postBuild must stop at the first error"
    assert os.access(BINDER / "postBuild", os.X_OK), "postBuild must be executable"


def test_start_is_a_bash_script_that_always_ends_by_starting_jupyter() -> None:
    script = (BINDER / "start").read_text(encoding="utf-8")
    assert script.startswith("#!/bin/bash\n")
    assert script.rstrip().endswith('exec "$@"'), "start must hand over to the command it was given"
    assert not re.search(r"^set -e", script, re.MULTILINE), "a server must not stop JupyterLab"
    assert os.access(BINDER / "start", os.X_OK), "start must be executable"


# --- repo2docker uses the five files -----------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The Dockerfile repo2docker would build for Binder, and its log.

    ``--no-build --debug`` prints the Dockerfile and stops before any Docker call, and a
    DOCKER_HOST that leads nowhere proves that no daemon was needed.
    """
    repo2docker = Path(sys.executable).with_name("jupyter-repo2docker")
    if not repo2docker.exists():
        pytest.skip("jupyter-repo2docker is not installed in this environment")
    command = [
        str(repo2docker),
        "--no-build",
        "--debug",
        f"--user-id={BINDER_UID}",
        "--user-name=jovyan",
        "--Repo2Docker.platform=linux/amd64",
        str(ROOT),
    ]
    nowhere = tmp_path_factory.mktemp("docker") / "no-daemon.sock"
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"DOCKER_HOST": f"unix://{nowhere}"},
    )
    assert result.returncode == 0, f"repo2docker failed:\n{result.stderr[-3000:]}"
    return result.stdout, result.stderr


def test_repo2docker_builds_on_the_python_of_runtime_txt(dockerfile: tuple[str, str]) -> None:
    from escapism import escape

    text, log = dockerfile
    python = runtime_python()
    assert f"Building conda environment for python={python}" in log
    assert "Python version unspecified" not in log
    # repo2docker escapes the names of the files it adds to the build context.
    lock = escape(f"environment.py-{python}-linux-64.lock", escape_char="-").lower()
    assert re.search(rf"COPY .*{lock}\S* /tmp/env/environment.lock", text)


def test_repo2docker_installs_the_pinned_requirements(dockerfile: tuple[str, str]) -> None:
    text, _ = dockerfile
    assert "src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt" in text
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in text


def test_repo2docker_runs_postbuild_as_the_learner_after_copying_the_repository(
    dockerfile: tuple[str, str],
) -> None:
    text, _ = dockerfile
    steps = text.splitlines()
    requirements = _index(steps, 'pip install --no-cache-dir -r "binder/requirements.txt"')
    copy = _index(steps, f"COPY --chown={BINDER_UID}:{BINDER_UID} src/ ${{REPO_DIR}}/")
    post_build = _index(steps, "RUN ./binder/postBuild")
    assert requirements < copy < post_build
    users = [step for step in steps[copy:post_build] if step.startswith("USER ")]
    assert users[-1] == "USER ${NB_USER}", "postBuild must run as the learner, not as root"


def test_repo2docker_ignores_pyproject_so_postbuild_must_install_the_package(
    dockerfile: tuple[str, str],
) -> None:
    text, _ = dockerfile
    assert "pip install --no-cache-dir ." not in text
    script = (BINDER / "postBuild").read_text(encoding="utf-8")
    assert re.search(r"pip install .*(--editable|-e) \.$", script, re.MULTILINE)


def test_repo2docker_installs_postgresql_as_root_before_copying_the_repository(
    dockerfile: tuple[str, str],
) -> None:
    text, _ = dockerfile
    steps = text.splitlines()
    apt = _index(steps, "apt-get install --yes --no-install-recommends postgresql")
    copy = _index(steps, f"COPY --chown={BINDER_UID}:{BINDER_UID} src/ ${{REPO_DIR}}/")
    users = [step for step in steps[:apt] if step.startswith("USER ")]
    assert users[-1] == "USER root"
    assert apt < copy


def test_repo2docker_runs_start_before_jupyter_in_every_session(
    dockerfile: tuple[str, str],
) -> None:
    text, _ = dockerfile
    steps = text.splitlines()
    entry = _index(steps, 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"')
    assert steps[entry - 1] == 'RUN chmod +x "${REPO_DIR}/binder/start"'
    assert 'ENTRYPOINT ["/usr/local/bin/repo2docker-entrypoint"]' in steps[entry:]


def _index(steps: list[str], fragment: str) -> int:
    found = [n for n, step in enumerate(steps) if fragment in step]
    assert found, f"the Dockerfile has no step with {fragment!r}"
    return found[0]


# --- start brings up PostgreSQL for notebook 12 ------------------------------------------------

START = BINDER / "start"
POSTGRES_URL = "JOBQUEUE_LAB_POSTGRES_URL"


def _run_start(folder: Path, report: str, user: str | None) -> subprocess.CompletedProcess:
    """``binder/start sh -c REPORT``, as Binder runs it: as the learner (here an unprivileged
    user when the tests run as root, since PostgreSQL refuses root), with the server's folder
    in ``folder`` and no server named beforehand."""
    command = ["env", f"--unset={POSTGRES_URL}", f"JOBQUEUE_LAB_POSTGRES_DIR={folder}"]
    command += [str(START), "sh", "-c", report]
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_start_brings_up_a_postgresql_server_that_a_store_can_use() -> None:
    from jobqueue_lab.stores.urls import open_store
    from tests.postgres_server import find_binaries, missing_reason, server_user

    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    binaries, user = find_binaries(), server_user()
    home = Path(tempfile.mkdtemp(prefix="jobqueue-lab-binder-"))
    if user is not None:
        shutil.chown(home, user, user)
    report = f'"{binaries}/psql" "${POSTGRES_URL}" -Atc "SELECT current_user"'
    report += f' && echo "${POSTGRES_URL}"'
    try:
        started = _run_start(home / "postgres", report, user)
        assert started.returncode == 0, started.stderr
        who, url = started.stdout.split()
        assert who == "jobqueue"
        assert url == f"postgresql://jobqueue@/postgres?host={home / 'postgres'}"
        with open_store(url) as store:
            job = store.create_job("report")
            assert (job.id, len(store)) == ("job-001", 1)
        again = _run_start(home / "postgres", f'echo "${POSTGRES_URL}"', user)
        assert (again.returncode, again.stdout.strip()) == (0, url), "a second start reuses it"
    finally:
        stop = [f"{binaries}/pg_ctl", "-D", str(home / "postgres" / "data"), "-m", "immediate"]
        if user is not None:
            stop = ["runuser", "-u", user, "--", *stop]
        subprocess.run([*stop, "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(home, ignore_errors=True)


def test_start_opens_the_course_even_when_no_server_can_start(tmp_path: Path) -> None:
    nowhere = tmp_path / "a-file"
    nowhere.touch()
    started = _run_start(nowhere / "postgres", f'echo "${{{POSTGRES_URL}-unset}}"', None)
    assert (started.returncode, started.stdout) == (0, "unset\n")
    assert "no PostgreSQL server for notebook 12" in started.stderr


# --- an environment made from binder/ alone runs the course ------------------------------------


@dataclass(frozen=True)
class BinderEnvironment:
    """A fresh virtual environment built the way Binder builds its image, and a copy of the
    repository that ``postBuild`` installed from."""

    repository: Path
    python: Path
    env: dict[str, str]

    def run(self, *args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(arg) for arg in args],
            cwd=self.repository,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnvironment:
    base_python = _python(runtime_python())
    home = tmp_path_factory.mktemp("binder")
    repository = copy_of_the_checkout(home / "repository")
    venv = home / "env"
    subprocess.run([base_python, "-m", "venv", venv], check=True, timeout=120)
    env = os.environ | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    env.pop("PYTHONPATH", None)
    built = BinderEnvironment(repository, venv / "bin" / "python", env)
    for step in (
        [built.python, "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        ["./binder/postBuild"],
    ):
        result = built.run(*step)
        assert result.returncode == 0, f"{step[-1]} failed:\n{result.stderr[-3000:]}"
    return built


def _python(version: str) -> str:
    """An interpreter of the Binder version: this one if it matches, else one on PATH."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        pytest.skip(f"no Python {version} here to build the Binder environment with")
    return found


def test_the_pinned_requirements_are_consistent(binder_env: BinderEnvironment) -> None:
    result = binder_env.run(binder_env.python, "-m", "pip", "check")
    assert result.returncode == 0, result.stdout


def test_the_kernel_runs_in_the_binder_environment_and_imports_the_course_from_the_repository(
    binder_env: BinderEnvironment, tmp_path: Path
) -> None:
    import nbformat

    probe, executed = tmp_path / "probe.ipynb", tmp_path / "executed.ipynb"
    code = "import sys, jobqueue_lab\nprint(sys.prefix)\nprint(jobqueue_lab.__file__)"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), probe)
    result = binder_env.run(binder_env.python, "-c", RUN_NOTEBOOK, probe, executed)
    assert result.returncode == 0, result.stderr[-3000:]
    prefix, package = nbformat.read(executed, as_version=4).cells[0].outputs[0].text.split()
    assert Path(prefix) == binder_env.python.parent.parent
    assert Path(package).is_relative_to(binder_env.repository / "jobqueue_lab")


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_in_the_binder_environment(
    binder_env: BinderEnvironment, notebook: Path, tmp_path: Path
) -> None:
    copy = binder_env.repository / notebook.relative_to(ROOT)
    result = binder_env.run(binder_env.python, "-c", RUN_NOTEBOOK, copy, tmp_path / "out.ipynb")
    assert result.returncode == 0, f"{notebook.name} failed on Binder:\n{result.stderr[-3000:]}"
