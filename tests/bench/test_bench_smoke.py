"""The benchmark command runs end to end at a tiny size and prints every row of its tables.

The process rows need a PostgreSQL server for half of them; where none can be started, the
bench prints one row saying why instead, and that row is what is checked.

Only the shape of the output is checked: every row present, its figures numeric, a verdict
where there is a target. Timings on a shared machine prove nothing here, so none is asserted.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]

RATE = r"[\d,]+ (jobs|runs|cycles)/s"
SWITCHES = r"\d+\.\d\d"
RATIO = r"\d+\.\d\dx( \(\d+\.\d\d-\d+\.\d\d\))?"
MICROS = r"[\d,]+\.\d µs"
VERDICT = r"yes|no"

THROUGHPUT = (RATE, SWITCHES, RATE, SWITCHES, RATIO)
SCALING = (MICROS, "", MICROS, "", RATIO, r"<= 1.5x", VERDICT)

# The check cell starts with -> the other cells: jobqueue_lab, its switches/job, the peer, its
# switches/job, the ratio (median, low-high), the target, met.
EXPECTED_ROWS = {
    "no-op, 200 jobs: WorkerPool(4) vs bare ThreadPoolExecutor(4)": (
        *THROUGHPUT,
        r">= 1x",
        VERDICT,
    ),
    "no-op, 200 jobs: WorkerPool(4) vs honest executor": (*THROUGHPUT, "", ""),
    "no-op, 200 jobs: WorkerPool(4) vs MemoryHuey, 4 threads (floor)": (
        *THROUGHPUT,
        r">= 1x",
        VERDICT,
    ),
    "thread switches per job, 200 no-op jobs (floor)": (
        r"\d+\.\d\d per job",
        r"\d+\.\d\d",
        *[""] * 3,
        r"<= 0\.5",
        VERDICT,
    ),
    "failure path, 100 jobs (200 runs), half always fail": (*THROUGHPUT, r">= 5x", VERDICT),
    "store, one thread, 1,000 create+claim+complete cycles": (*THROUGHPUT, r">= 0.25x", VERDICT),
    "scaling, get_failed_jobs() with 100 failed jobs: among 10,000 vs 1,000 completed": SCALING,
    "scaling, one sweep_once() with 100 failed jobs: among 10,000 vs 1,000 completed": SCALING,
    "memory after 10,000 completed jobs, audit log included": (
        r"[\d,]+ bytes/job",
        *[""] * 4,
        r"<= 500 bytes/job",
        VERDICT,
    ),
    "no-op while the Dashboard watches, 200 jobs' retry round": (
        r"[\d,]+ runs/s \(\d+ count updates\)",
        "",
        r"[\d,]+ runs/s",
        "",
        RATIO,
        r">= 0.9x",
        VERDICT,
    ),
    "notebook time": ("no notebooks", *[""] * 6),
}

def against(target: str = "") -> tuple[str, ...]:
    """A process row's cells: our rate, the peer's, the ratio, and the target if it has one."""
    return (RATE, "", RATE, "", RATIO, target, VERDICT if target else "")


COUNTS = ("1 process", "2 processes", "4 processes")
SQLITE = "processes, SQLite synchronous=FULL"
POSTGRES = "processes, PostgreSQL fsync on"
NOOP = "no-op, 20 jobs"
FAILING = "half always fail, 20 jobs (40 runs)"
# Each peer: its name, how its retries are said, and its target (no-op, half failing) by count.
SQLITE_PEERS = {
    "SqliteHuey": ("retries=2", {n: (r">= 1.2x", r">= 1.2x") for n in COUNTS}),
    "SQLiteAckQueue": ("3 runs", {n: ("", "") for n in COUNTS}),
}
POSTGRES_PEERS = {
    "procrastinate": ("retry=2", {n: (r">= 1.5x", r">= 1.5x") for n in COUNTS}),
    "PgQueuer": (
        "max_attempts=2",
        {"1 process": ("", ""), "2 processes": ("", ""), "4 processes": (r">= 1x", "")},
    ),
}
MILLIS = r"[\d,]+\.\d ms"


def peer_rows(label: str, store: str, peers: dict) -> dict[str, tuple[str, ...]]:
    """Each peer's rows, no-op and half failing at every process count."""
    rows = {}
    for peer, (retries, targets) in peers.items():
        for count, (noop_target, failing_target) in targets.items():
            rows[f"{label}, {NOOP}, {count}: {store} vs {peer}"] = against(noop_target)
            systems = f"{store} max_retries=3 vs {peer} {retries}"
            rows[f"{label}, {FAILING}, {count}: {systems}"] = against(failing_target)
    return rows


def pickup_and_scale_rows(database: str, store: str, targets: bool) -> dict:
    pickup = f"pickup, {database}, {store}, 2 idle worker processes, 3 jobs one at a time"
    scale = f"table scale, {database}, {store}, claim_next()+update_status(), 20 cycles: "
    median_target, p99_target = (r"<= 5 ms", r"<= 50 ms") if targets else ("", "")
    verdict = VERDICT if targets else ""
    return {
        f"{pickup}: create to handler start, median": (
            MILLIS, *[""] * 4, median_target, verdict
        ),
        f"{pickup}: create to handler start, 99th percentile": (
            MILLIS, *[""] * 4, p99_target, verdict
        ),
        f"{scale}among 10,000 vs 1,000 finished jobs": SCALING,
    }


PROCESS_ROWS = {
    **peer_rows(SQLITE, "SQLiteJobStore", SQLITE_PEERS),
    **pickup_and_scale_rows("SQLite synchronous=FULL", "SQLiteJobStore", targets=False),
}
POSTGRES_ROWS = {
    **peer_rows(POSTGRES, "PostgresJobStore", POSTGRES_PEERS),
    f"{POSTGRES}, {NOOP}: PostgresJobStore at 2 processes vs at 1": against(r"> 1x"),
    f"{POSTGRES}, {FAILING}: PostgresJobStore at 2 processes vs at 1": against(r"> 1x"),
    **pickup_and_scale_rows("PostgreSQL fsync on", "PostgresJobStore", targets=True),
}
POSTGRES_SKIPPED = "processes, PostgreSQL: skipped, "
NOT_INSTALLED = ("not installed", *[""] * 6)


def not_installed(rows: list[list[str]], expected: dict) -> dict:
    """``expected`` with each peer the run says is not installed down to the one row saying so."""
    for cells in rows:
        if cells[1] == "not installed":
            peer = cells[0].split(" vs ")[1].split(":")[0]
            expected = {start: cells for start, cells in expected.items() if peer not in start}
            expected[cells[0]] = NOT_INSTALLED
    return expected

BREAKDOWN_ROWS = [
    "create, one thread, nothing else running",
    "claim, the same",
    "complete, the same",
    "bookkeeping in all",
    "a whole job, 1 worker thread (wall time / jobs)",
    "a whole job, 4 worker threads (wall time / jobs)",
    "beyond the bookkeeping, 4 worker threads: queue, handler, threads waiting",
    "thread switches per job, 1 worker thread",
    "thread switches per job, 4 worker threads",
    "take and release a threading.Lock",
    "build a frozen 8-field dataclass, by keyword",
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


def table_rows(output: str) -> list[list[str]]:
    """Every markdown table row's cells, header and separator rows left out."""
    rows = []
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def test_the_quick_run_prints_every_row_with_numbers_and_a_verdict(tmp_path):
    output = run_bench("--notebooks-dir", str(tmp_path))
    rows = table_rows(output)
    expected = {**EXPECTED_ROWS, **PROCESS_ROWS}
    if any(cells[0].startswith(POSTGRES_SKIPPED) for cells in rows):
        expected[POSTGRES_SKIPPED] = ("skipped", *[""] * 6)
    else:
        expected.update(POSTGRES_ROWS)
    expected = not_installed(rows, expected)
    for start, patterns in expected.items():
        matching = [cells for cells in rows if cells[0].startswith(start)]
        assert len(matching) == 1, f"no single row starting {start!r} in:\n{output}"
        cells = matching[0]
        assert len(cells) == 8, cells
        for cell, pattern in zip(cells[1:], patterns, strict=True):
            assert re.fullmatch(pattern, cell), f"{cell!r} is not {pattern!r} in {cells}"

    assert output.startswith("jobqueue_lab benchmarks, ")
    assert re.search(r"^machine: .*\d+ cores.*Python 3\.\d+", output, re.MULTILINE)
    assert "imported none of pandas, matplotlib, ipywidgets, IPython, nbclient" in output
    assert "ratio = median of per-repeat ratios" in output


def test_the_quick_run_says_where_the_time_goes(tmp_path):
    output = run_bench("--only", "breakdown")
    rows = {cells[0]: cells[1:] for cells in table_rows(output)}
    for step in BREAKDOWN_ROWS:
        assert step in rows, f"no breakdown row {step!r} in:\n{output}"
        for cell in rows[step]:
            assert cell == "" or re.fullmatch(r"-?[\d,]+(\.\d+)?", cell), (step, cell)
    assert all(rows["a whole job, 4 worker threads (wall time / jobs)"]), rows


def test_each_notebook_gets_a_row_and_the_course_a_total(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(notebook, tmp_path / "01-tiny.ipynb")
    (tmp_path / "solutions").mkdir()
    nbformat.write(notebook, tmp_path / "solutions" / "not-a-lesson.ipynb")
    rows = table_rows(run_bench("--only", "notebooks", "--notebooks-dir", str(tmp_path)))
    notebook_rows = [cells for cells in rows if "notebook" in cells[0] or "course" in cells[0]]
    assert [cells[0] for cells in notebook_rows] == [
        "notebook 01-tiny.ipynb, fresh kernel",
        "whole course, 1 notebooks one after another",
    ]
    assert all(re.fullmatch(r"\d+\.\d s", cells[1]) for cells in notebook_rows)
