"""Printing the results: the header that says where and how, the table, the breakdown."""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .child import HEAVY
from .lean import Children
from .postgres import find_binaries
from .rows import Breakdown, Row

COLUMNS = (
    "check",
    "jobqueue_lab",
    "switches/job",
    "peer",
    "switches/job",
    "ratio (low-high)",
    "target",
    "met",
)


def markdown(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    rows = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def table(rows: Sequence[Row]) -> str:
    return markdown(
        COLUMNS,
        [
            (r.check, r.ours, r.ours_switches, r.peer, r.peer_switches, r.ratio, r.target, r.met)
            for r in rows
        ],
    )


def breakdown_table(found: Breakdown) -> str:
    """Microseconds per no-op job, step by step, for a reader to see what each part costs."""
    ours, honest = found.ours, found.honest
    names = ("pool", "honest", "executor")
    one = [found.one_worker[name] for name in names]
    four = [found.four_workers[name] for name in names]
    bookkeeping = [ours.total, honest.total, 0.0]
    lines = [
        ("create, one thread, nothing else running", ours.create, honest.create, None),
        ("claim, the same", ours.claim, honest.claim, None),
        ("complete, the same", ours.complete, honest.complete, None),
        ("bookkeeping in all", *bookkeeping),
        ("a whole job, 1 worker thread (wall time / jobs)", *one),
        ("a whole job, 4 worker threads (wall time / jobs)", *four),
        (
            "beyond the bookkeeping, 4 worker threads: queue, handler, threads waiting",
            *(whole - kept for whole, kept in zip(four, bookkeeping)),
        ),
    ]
    cells = [[step, *(_micros(value) for value in values)] for step, *values in lines]
    for label, switches in (
        ("1 worker thread", found.switches_one),
        ("4 worker threads", found.switches_four),
    ):
        cells.append([f"thread switches per job, {label}", *(f"{switches[n]:.2f}" for n in names)])
    return markdown(("µs per no-op job", "WorkerPool", "honest executor", "bare executor"), cells)


def ingredients_table(found: Breakdown) -> str:
    """Nanoseconds per call of the plain-Python operations the steps are made of."""
    return markdown(
        ("one call of", "ns"), [(name, f"{ns:,.0f}") for name, ns in found.ingredients.items()]
    )


def _micros(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def machine() -> str:
    """What the figures were measured on: OS, architecture, cores, CPU model, Python. No
    host names or paths."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        if names:
            cpu = names[0].split(":", 1)[1].strip()
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}"
    )


def load() -> str:
    """The load average now: a busy machine moves absolute figures far more than ratios."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def versions() -> str:
    """The packages measured, and the databases under the process rows."""
    found = []
    for name in (
        "jobqueue-lab",
        "huey",
        "persist-queue",
        "procrastinate",
        "pgqueuer",
        "psycopg",
        "nbclient",
    ):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} not installed")
    found.append(f"SQLite {sqlite3.sqlite_version}")
    binaries = find_binaries()
    found.append("PostgreSQL " + (binaries.parent.name if binaries else "not installed"))
    return ", ".join(found)


def leanness(children: Children) -> str:
    """How lean the measuring processes were, in objects the garbage collector tracked."""
    lean = [report.gc_objects for report in children.lean_reports()]
    heavy = len(children.reports) - len(lean)
    text = f"{len(children.reports)} measuring processes"
    if lean:
        text += (
            f"; {len(lean)} imported none of {', '.join(HEAVY)} and tracked "
            f"{min(lean):,} to {max(lean):,} objects when their measurement began"
        )
    if heavy:
        text += f"; {heavy} (dashboard and notebook rows) import what they measure"
    return text
