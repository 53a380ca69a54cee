"""Run each measurement in a fresh, lean Python process, and collect what they report.

A process that has imported pandas, matplotlib or Jupyter holds a quarter of a million objects,
and every full garbage collection walks them all: a thread pool allocating a few objects per
job then runs at half speed, and a comparison made there says more about the heap than about
the queue. So nothing is measured in the process that prints the table: each figure comes
from a new ``python -m bench.harness.child`` that imports only the module it measures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jobs import BenchmarkError

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Report:
    """What one measuring process sent back."""

    result: Any
    gc_objects: int
    heavy: tuple[str, ...]


@dataclass
class Children:
    """Starts measuring processes and keeps their reports, so the table's header can say
    how lean they were."""

    reports: list[Report] = field(default_factory=list)

    def run(
        self, module: str, function: str, *, allow_heavy: bool = False, **arguments: Any
    ) -> Any:
        """Call ``bench.<module>.<function>(**arguments)`` in a new process; return its result.

        ``module`` is named from ``bench``: ``ours.pool_runs``, ``peers.huey_runs``.

        Refuses the result if the process imported a heavy library it was not allowed to.
        """
        finished = subprocess.run(
            [sys.executable, "-m", "bench.harness.child", module, function, json.dumps(arguments)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if finished.returncode != 0:
            raise BenchmarkError(
                f"bench.{module}.{function}({arguments}) failed:\n{finished.stderr.strip()}"
            )
        sent = json.loads(finished.stdout.strip().splitlines()[-1])
        report = Report(sent["result"], sent["gc_objects"], tuple(sent["heavy"]))
        if report.heavy and not allow_heavy:
            raise BenchmarkError(
                f"bench.{module} imported {', '.join(report.heavy)}: the measurement is not lean"
            )
        self.reports.append(report)
        return report.result

    def lean_reports(self) -> list[Report]:
        return [report for report in self.reports if not report.heavy]
