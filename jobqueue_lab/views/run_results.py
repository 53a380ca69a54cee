"""What the dashboard shows when a run ends, as outputs for its Output widget: the jobs table
and the status chart (or, for the broken worker, the damage it did); and for a run that lost a
worker, that worker's story, the lease timeline and its job's audit log."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from ..lost_worker import LOST_JOB, lost_worker_story
from ..mistakes.mutating_pool import MutatingWorkerPool
from ..pool import WorkerPool
from ..stores.memory import InMemoryJobStore
from .charts import WIDE, status_over_time
from .outputs import display_data, figure_output, text_output
from .tables import jobs_table, styled_jobs_table, transitions_table
from .timelines import lease_timeline

TABLE_ROWS = 20
"""The jobs table shown after a run stops after this many rows; ``dash.store`` has them all."""

NO_HISTORY = (
    "No chart: this store keeps no audit log. Its workers changed the job records directly,"
    " so there is no record of what happened when. Instead, the pool held one race open"
    " (with two workers at least: a race needs two) and its handler wrote down every run:"
)

LOST_WORKER_NEEDS_LEASES = (
    "Lose a worker: the broken worker's store keeps no leases, so nothing would ever notice"
    " a lost worker. Tick it with the correct worker to watch the recovery."
)


def lost_worker_outputs(
    lost_worker: bool, correct_worker: bool, store: InMemoryJobStore
) -> tuple[dict[str, Any], ...]:
    """The story of the lost worker and its job's audit log, for a run that lost one."""
    if not lost_worker:
        return ()
    if not correct_worker:
        return (text_output(LOST_WORKER_NEEDS_LEASES),)
    story = text_output(lost_worker_story(store))
    if LOST_JOB not in {job.id for job in store.list_jobs()}:
        return (story,)
    log = transitions_table(store, job_id=LOST_JOB, claims=True)
    table = {"text/plain": log.to_string(), "text/html": log.to_html(index=False)}
    timeline = Figure(figsize=WIDE, layout="constrained")
    lease_timeline(store, ax=timeline.add_subplot())
    return (story, figure_output(timeline), display_data(table))


def run_results(pool: WorkerPool) -> tuple[dict[str, Any], ...]:
    """The jobs table and the status chart of a finished run, as Output-widget outputs.

    The chart is drawn from the store's audit log. The broken worker's store keeps none (its
    workers change the records directly, and nobody writes anything down), so after a broken
    run the dashboard says so, and shows what the pool's handler saw instead: every run,
    checked against the records, with the race the pool forced on every run among them.
    """
    store = pool.store
    if isinstance(pool, MutatingWorkerPool):
        return (_table_output(store), text_output(f"{NO_HISTORY}\n{pool.damage_report()}"))
    fig = Figure(figsize=WIDE, layout="constrained")
    status_over_time(store, ax=fig.add_subplot())
    return (_table_output(store), figure_output(fig))


def _table_output(store: InMemoryJobStore) -> dict[str, Any]:
    return display_data(
        {
            "text/plain": jobs_table(store).to_string(max_rows=TABLE_ROWS),
            "text/html": styled_jobs_table(store).to_html(max_rows=TABLE_ROWS),
        }
    )
