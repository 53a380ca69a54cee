"""The benchmark command runs end to end at a tiny size and prints every row of its table.

Only the shape of the output is checked: timings on a shared machine prove nothing here.
"""

import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent

EXPECTED_ROWS = [
    "| no-op throughput, 200 jobs: WorkerPool vs ThreadPoolExecutor(4) |",
    "| no-op throughput, 200 jobs: WorkerPool vs MemoryHuey, 4 threads |",
    "| no-op throughput while the Dashboard watches, 200 jobs' retry round: ",
    "| failure path, 100 jobs (200 runs), half always fail: ",
    "| store floor, one thread, 1,000 create+claim+complete cycles: ",
    "| scaling, get_failed_jobs() with 100 failed jobs: among 10,000 vs 1,000 completed |",
    "| scaling, one sweep_once() with 100 failed jobs: among 10,000 vs 1,000 completed |",
    "| memory after 10,000 completed jobs, audit log included ",
]


def run_bench(*args: str) -> str:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


def table_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("| ")]


def test_the_quick_run_prints_every_row_with_a_verdict(tmp_path):
    output = run_bench("--notebooks-dir", str(tmp_path))
    lines = table_lines(output)
    for expected in EXPECTED_ROWS:
        matching = [line for line in lines if line.startswith(expected)]
        assert len(matching) == 1, f"no row starting {expected!r} in:\n{output}"
        assert matching[0].rstrip(" |").endswith(("yes", "no")), matching[0]
    assert any(line.startswith("| notebook time | no notebooks |") for line in lines)
    assert output.startswith("jobqueue_lab benchmarks, ")
    assert "versions: Python " in output


def test_each_notebook_gets_a_row_and_the_course_a_total(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(notebook, tmp_path / "01-tiny.ipynb")
    (tmp_path / "solutions").mkdir()
    nbformat.write(notebook, tmp_path / "solutions" / "not-a-lesson.ipynb")
    lines = table_lines(run_bench("--notebooks-dir", str(tmp_path)))
    notebook_lines = [line for line in lines if "notebook" in line or "whole course" in line]
    assert [line.split(" | ")[0] for line in notebook_lines] == [
        "| notebook 01-tiny.ipynb, fresh kernel",
        "| whole course, 1 notebooks one after another",
    ]
