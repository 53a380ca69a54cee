"""What every throughput run does, whatever system runs it.

The same jobs, the same failures and the same check before a time counts, kept apart from
any system so that a process measuring a thread pool never imports the job queue, and the
other way round.
"""

from __future__ import annotations

WORKERS = 4
RUNS_PER_JOB = 3
"""Attempts in total for a job that always fails (Huey's ``retries=2`` gives the same three)."""
TIMEOUT = 600.0


class BenchmarkError(RuntimeError):
    """A measured run did not do what it should, so its time means nothing."""


def job_fails(number: int) -> bool:
    """Every other job fails (the odd-numbered ones), in every system measured."""
    return number % 2 == 1


def expected_runs(jobs: int, *, failing: bool) -> int:
    """Runs of the job body in a run: on the failure path every other job fails every attempt."""
    if not failing:
        return jobs
    failing_jobs = jobs // 2
    return (jobs - failing_jobs) + failing_jobs * RUNS_PER_JOB


def check_outcome(jobs: int, completed: int, runs: int, *, failing: bool) -> None:
    """Refuse a run that lost, skipped or repeated work: a fast wrong run measures nothing."""
    want_completed = jobs - jobs // 2 if failing else jobs
    want_runs = expected_runs(jobs, failing=failing)
    if completed != want_completed or runs != want_runs:
        raise BenchmarkError(
            f"expected {want_completed} completed and {want_runs} runs, "
            f"got {completed} completed and {runs} runs"
        )

SETTLED_POLL = 0.005
"""Seconds between two looks at whether every job is settled, in the process benchmarks: each
system is watched at this pace, so each is seen settled at most this late."""
