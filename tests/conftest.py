"""Print the notebook timings at the end of a test run, when the nbval test measured them."""

import time
from pathlib import Path

TIMES = Path(__file__).resolve().parents[1] / "test-artifacts" / "notebook-times.txt"
_started = time.time()


def pytest_terminal_summary(terminalreporter):
    if TIMES.exists() and TIMES.stat().st_mtime >= _started:
        terminalreporter.section("notebook execution times (nbval, fresh kernel each)")
        terminalreporter.write(TIMES.read_text())
