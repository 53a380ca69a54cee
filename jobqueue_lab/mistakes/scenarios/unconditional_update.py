"""Scenario for a lost update across processes: two processes claim one job at the same moment.

Each side is played by two real processes (``claim_process``) on a SQLite file of its own: on
the broken side ``UnconditionalUpdateStore``, held between its read and its write until both
processes have read; on the correct side the real ``SQLiteJobStore``, held just before the
claim. The evidence is what each process was told, and the job as it ended.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from ...checks import HandlerRun
from ...stores.sqlite import SQLiteJobStore
from ..unconditional_update import UnconditionalUpdateStore
from .harness import Sides, broken_store_side, real_store_side, scenario

PROCESSES = ("process-1", "process-2")


@scenario("unconditional update", "lost update across processes: read, decide, write back")
def scenario_unconditional_update(timeout: float) -> Sides:
    """Two processes claim one job at the same moment: through a store that reads, decides in
    Python and writes back, and through the real store."""
    with tempfile.TemporaryDirectory(prefix="jobqueue-lab-lost-update-") as folder:
        broken = TwoProcesses("broken", Path(folder) / "broken", UnconditionalUpdateStore)
        correct = TwoProcesses("correct", Path(folder) / "correct", SQLiteJobStore)
        for side in (broken, correct):
            side.start(timeout)
        try:
            broken_runs, correct_runs = broken.finish(timeout), correct.finish(timeout)
            return Sides(
                broken_store_side(
                    "UnconditionalUpdateStore",
                    broken.store,
                    "both processes were granted the job, and one attempt was lost",
                    handler_runs=broken_runs,
                    output=broken.told(),
                ),
                real_store_side(
                    "SQLiteJobStore",
                    correct.store,
                    handler_runs=correct_runs,
                    output=correct.told(),
                ),
            )
        finally:
            broken.close()
            correct.close()


class TwoProcesses:
    """One side: a store on a file of its own, one job, and two processes that claim it."""

    def __init__(self, side: str, folder: Path, store_class: type[SQLiteJobStore]) -> None:
        folder.mkdir()
        self.side, self.folder = side, folder
        self.store = store_class(folder / "jobs.db")
        self.job_id = self.store.create_job("report", {"month": "2024-05"}).id
        self.processes: list[subprocess.Popen] = []

    def start(self, timeout: float) -> None:
        for name in PROCESSES:
            command = [sys.executable, "-m", __package__ + ".claim_process", self.side]
            command += [str(self.folder / "jobs.db"), self.job_id, name, str(self.folder)]
            with open(self.folder / f"{name}.log", "wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [*command, str(timeout)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )

    def finish(self, timeout: float) -> list[HandlerRun]:
        """Wait for both processes; what each granted claim was, as runs that overlapped
        (each process held its claim until both had been answered)."""
        for name, process in zip(PROCESSES, self.processes):
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"{self.side} {name} still running after {timeout} s") from None
            if code != 0:
                log = (self.folder / f"{name}.log").read_text()
                raise RuntimeError(f"{self.side} {name} ended with exit code {code}:\n{log}")
        granted = [(name, claim) for name, claim in self.answers() if claim is not None]
        return [
            HandlerRun(self.job_id, name, n, len(granted) + n, claim)
            for n, (name, claim) in enumerate(granted)
        ]

    def answers(self) -> list[tuple[str, int | None]]:
        """What the store told each process: the claim it was granted, or ``None``."""
        found = []
        for name in PROCESSES:
            answer = (self.folder / f"{name}.answer").read_text().split()
            found.append((name, int(answer[1]) if answer[0] == "granted" else None))
        return found

    def told(self) -> tuple[str, ...]:
        """The answers in words that do not depend on which process came first."""
        claims = sorted(claim for _, claim in self.answers() if claim is not None)
        granted = ", ".join(f"claim {claim}" for claim in claims) or "nothing"
        refused = len(PROCESSES) - len(claims)
        return (
            f"{len(PROCESSES)} processes claimed {self.job_id} at the same moment: "
            f"{len(claims)} granted ({granted}), {refused} refused",
        )

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.store.close()
