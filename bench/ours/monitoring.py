"""Monitoring: does watching a run with the dashboard slow the pool down?

The same run twice: once started with ``jobqueue_lab.views.dashboard.Dashboard``'s Run (which
submits the jobs, then refreshes its counts and progress bar from its own thread until every
job is settled), once from plain Python with the same pool settings and the same jobs.

The dashboard starts refreshing only after it has submitted every job, and no-op jobs are done
almost as soon as they are submitted, so a plain no-op run would leave it nothing to watch.
So every job fails its first attempt (the dashboard's "transient until attempt 2" policy) and
the sweeper, sweeping once a second, retries them all in one go once every job is in. The
measured part is that retry round: the no-op handler running once per job while the dashboard
refreshes, 20 times a second here (four times its default).

Both runs are timed from the store's audit log, from the first retry to the last change.
That leaves out the table and chart the dashboard draws once the run is over.

Each run has a fresh process of its own, and both import the dashboard module, as a notebook
kernel would have: the row measures watching, not importing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jobqueue_lab import InMemoryJobStore, JobStatus, WorkerPool, simulated_work
from jobqueue_lab.views.dashboard import (
    CORRECT_WORKER,
    FAILURE_POLICIES,
    FINISHED,
    Dashboard,
    RunSettings,
    job_mix,
)

from ..harness.jobs import TIMEOUT, BenchmarkError

POLICY = "transient until attempt 2"
RUNS_PER_JOB = 2
SWEEPER_INTERVAL = 1.0
"""Long enough for every job to be submitted (and to fail once) before the first sweep."""
REFRESH_SECONDS = 0.05


@dataclass(frozen=True)
class MonitoredRun:
    """Runs per second in the retry round, and how many times the dashboard updated its counts."""

    runs_per_second: float
    refreshes: int = 0


def settings(jobs: int) -> RunSettings:
    """The dashboard's settings for the measured run: 4 workers, no-op handler, ``jobs`` jobs."""
    return RunSettings(
        workers=4,
        jobs=jobs,
        email_share=0.3,
        failure_policy=POLICY,
        max_retries=3,
        sweeper_interval=SWEEPER_INTERVAL,
        handler_seconds=0.0,
        worker=CORRECT_WORKER,
    )


def with_dashboard(jobs: int) -> MonitoredRun:
    """The run started with the dashboard's Run, from Python, as a notebook cell would."""
    dash = Dashboard(refresh_seconds=REFRESH_SECONDS, time_limit=TIMEOUT)
    wanted = settings(jobs)
    dash.jobs.max = max(dash.jobs.max, jobs)
    for name, value in asdict(wanted).items():
        getattr(dash, name).value = value
    if dash.settings() != wanted:
        raise BenchmarkError(f"the dashboard's controls say {dash.settings()}, not {wanted}")
    refreshes = []
    dash.counts.observe(refreshes.append, "value")
    dash.run()
    if not dash.wait(TIMEOUT) or dash.state.value != FINISHED:
        raise BenchmarkError(f"the dashboard run did not finish: it is {dash.state.value}")
    return MonitoredRun(_retry_round_speed(dash.store, jobs), len(refreshes))


def without_dashboard(jobs: int) -> MonitoredRun:
    """The same run, the same pool settings and jobs, with nobody watching."""
    wanted = settings(jobs)
    handler = simulated_work(wanted.handler_seconds, FAILURE_POLICIES[wanted.failure_policy])
    pool = WorkerPool(
        workers=wanted.workers,
        handler=handler,
        sweeper_interval=wanted.sweeper_interval,
        queue_capacity=jobs,
    )
    with pool:
        for job_type, payload in job_mix(jobs, wanted.email_share):
            pool.submit(job_type, payload, max_retries=wanted.max_retries)
        if not pool.wait(TIMEOUT):
            raise BenchmarkError(f"the pool did not settle {jobs} jobs in {TIMEOUT}s")
    return MonitoredRun(_retry_round_speed(pool.store, jobs))


def _retry_round_speed(store: InMemoryJobStore, jobs: int) -> float:
    """Check every job completed on its second run, then return the retry round's runs per
    second: ``jobs`` runs between the first retry and the last change in the audit log."""
    finished = store.list_jobs()
    runs = sum(job.attempts for job in finished)
    completed = sum(job.status is JobStatus.COMPLETED for job in finished)
    if len(finished) != jobs or completed != jobs or runs != jobs * RUNS_PER_JOB:
        raise BenchmarkError(
            f"expected {jobs} jobs completed in {jobs * RUNS_PER_JOB} runs, "
            f"got {completed} of {len(finished)} completed in {runs} runs"
        )
    log = store.transitions()
    last_created = max(entry.at for entry in log if entry.from_status is None)
    first_retry = min(entry.at for entry in log if entry.from_status is JobStatus.FAILED)
    if first_retry < last_created:
        raise BenchmarkError("the sweeper retried jobs before every job was submitted")
    return jobs / (log[-1].at - first_retry)
