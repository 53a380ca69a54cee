"""Run every benchmark and print the tables: ``python -m bench.run`` (``--quick`` for a tiny run).

Each row compares jobqueue_lab with a peer measured in the same run, as a ratio, beside the
target the project set. Every measurement happens in a fresh, lean process
(``bench.harness.lean``), the systems take turns in rotating order (``bench.harness.interleave``),
and each ratio is a median of ratios taken within one repeat. Progress goes to stderr, the tables
to stdout.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .harness import report, rows
from .harness.lean import Children
from .harness.process_rows import process_rows
from .harness.sizes import FULL, QUICK, Sizes
from .harness.timing import Measured

COURSE_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TABLE_STEPS = (
    "noop",
    "failure",
    "store",
    "scaling",
    "memory",
    "dashboard",
    "processes",
    "notebooks",
)
STEPS = (*TABLE_STEPS, "breakdown")


def table_step(
    name: str,
    children: Children,
    sizes: Sizes,
    folder: Path | None,
    noop_runs: Callable[[], dict[str, list[Measured]]],
) -> Callable[[], list[rows.Row]]:
    return {
        "noop": lambda: rows.noop_rows(noop_runs(), sizes),
        "failure": lambda: rows.failure_path_rows(children, sizes),
        "store": lambda: rows.store_rows(children, sizes),
        "scaling": lambda: rows.scaling_rows(children, sizes),
        "memory": lambda: rows.memory_rows(children, sizes),
        "dashboard": lambda: rows.dashboard_rows(children, sizes),
        "processes": lambda: process_rows(children, sizes),
        "notebooks": lambda: rows.notebook_rows(children, folder),
    }[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two repeats, seconds")
    parser.add_argument(
        "--notebooks-dir",
        type=Path,
        help="time the notebooks in this folder (default: the course; --quick skips them)",
    )
    parser.add_argument("--no-notebooks", action="store_true", help="do not time notebooks")
    parser.add_argument(
        "--only",
        action="append",
        choices=STEPS,
        help="run only this part (repeatable); default: all of them",
    )
    arguments = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(arguments)

    sizes = QUICK if args.quick else FULL
    folder = args.notebooks_dir or (None if args.quick else COURSE_NOTEBOOKS)
    if args.no_notebooks:
        folder = None
    wanted = args.only or STEPS
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = report.load()
    children = Children()
    # The no-op runs feed both the table and the breakdown: measured once, when first needed.
    noop_runs = functools.cache(lambda: rows.noop_runs(children, sizes))

    table_rows: list[rows.Row] = []
    for name in TABLE_STEPS:
        if name in wanted:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            table_rows.extend(table_step(name, children, sizes, folder, noop_runs)())
    found = None
    if "breakdown" in wanted:
        print("measuring breakdown ...", file=sys.stderr, flush=True)
        found = rows.breakdown(children, sizes, noop_runs())

    kind = "quick run (sizes too small for conclusions)" if args.quick else "full run"
    print(f"jobqueue_lab benchmarks, {started}, {kind}")
    print("command: " + " ".join(["python -m bench.run", *arguments]))
    print(f"machine: {report.machine()}; load average at the start {load}")
    print(f"versions: {report.versions()}")
    print(
        f"method: {report.leanness(children)}; systems interleaved in rotating order, "
        f"{sizes.repeats} repeats ({sizes.process_repeats} for the process rows), "
        "ratio = median of per-repeat ratios"
    )
    if table_rows:
        print()
        print(report.table(table_rows))
    if found is not None:
        print("\nwhere the time goes per no-op job (medians, µs):\n")
        print(report.breakdown_table(found))
        print("\nwhat the ingredients cost, one call at a time (fastest of 5, ns):\n")
        print(report.ingredients_table(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
