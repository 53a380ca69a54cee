"""A live dashboard: choose a scenario with a few controls, press Run, watch the queue work.

Show it by ending a notebook cell with ``Dashboard()`` (or ``display(dash.widget)``). Run and
Stop work from Python too: ``dash.run()``, ``dash.stop()``, ``dash.wait()``, and ``dash.store``
is the store of the last run, ready for the tables and charts.

How the updates reach the screen safely
---------------------------------------
A run happens on a background thread, so the notebook stays free while it runs. Under
ipykernel 7, anything a background thread prints or displays lands in whichever cell happens
to be running at that moment, and ``with output_widget:`` decides where output goes by looking
at state that every thread shares. So the run thread never prints and never calls
``display``. It only assigns widget values: the counts text, the progress bar, the state
label and, at the end, the Output widget's ``outputs``. The final table and chart are rendered
on the run thread into plain mimebundles (HTML text and PNG bytes) and handed to the Output
widget in one assignment to ``outputs``: a widget value like any other, which reaches the
browser as one state update, whichever cell is running. The chart is drawn on a ``Figure``
made without pyplot, because pyplot's list of open figures is not safe to use from threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..domain import JobStatus
from ..failures import (
    FailurePolicy,
    fail_by_type,
    fail_every_nth_attempt,
    fail_on_payload,
    fail_until_attempt,
    simulated_work,
)
from ..lost_worker import LOST_JOB, pool_with_a_lost_worker
from ..mistakes.mutating_pool import MutatingWorkerPool
from ..pool import WorkerPool
from ..stores.memory import InMemoryJobStore
from ..validation import check_int, check_number
from ..worker import describe_failure
from .charts import STATUS_COLOURS
from .outputs import text_output
from .run_results import lost_worker_outputs, run_results

FAILURE_POLICIES: Mapping[str, FailurePolicy | None] = {
    "none": None,
    'fail by type "email"': fail_by_type("email"),
    "every attempt": fail_every_nth_attempt(1),
    'payload contains "error"': fail_on_payload("error"),
    "transient until attempt 2": fail_until_attempt(2),
}
"""The failure policies offered in the dashboard, by the label the dropdown shows."""

CORRECT_WORKER = "correct (signals the store)"
BROKEN_WORKER = "broken (mutates state)"

READY, RUNNING, FINISHED, STOPPED = "ready", "running", "finished", "stopped"


STOPPED_BY_BUTTON = "Stopped with the Stop button, before every job was settled."
STOPPED_BY_NEW_DASHBOARD = (
    "Stopped because a new dashboard was shown (its cell was run again): one run at a time."
)


DAMAGE_COLOUR = "#c44e52"
"""The warning colour of the broken worker's damage counter: handler runs against attempts."""


_STYLE = {"description_width": "140px"}
_WIDE_CHOICE = widgets.Layout(width="380px")


@dataclass(frozen=True)
class RunSettings:
    """What the controls said when Run was pressed: everything needed to repeat the run."""

    workers: int
    jobs: int
    email_share: float
    failure_policy: str
    max_retries: int
    sweeper_interval: float
    handler_seconds: float
    worker: str
    lost_worker: bool = False


def job_mix(count: int, email_share: float) -> list[tuple[str, dict[str, Any]]]:
    """The ``(type, payload)`` of each job a run submits: ``count`` jobs, that share emails.

    Emails are spread evenly through the run instead of coming first, and every fourth
    payload mentions an error, for the 'payload contains "error"' policy. The mix depends
    only on the two numbers, so the same settings give the same jobs on every run.
    """
    check_int(count, "count", minimum=0)
    check_number(email_share, "email_share", minimum=0, maximum=1)
    percent = round(email_share * 100)
    mix = []
    for n in range(count):
        is_email = (n + 1) * percent // 100 > n * percent // 100
        payload: dict[str, Any] = (
            {"to": f"user{n + 1}@example.org"} if is_email else {"report": n + 1}
        )
        if (n + 1) % 4 == 0:
            payload["note"] = "this payload mentions an error"
        mix.append(("email" if is_email else "report", payload))
    return mix


class Dashboard:
    """Controls for a run, Run and Stop buttons, live counts, and the results when it ends.

    ``refresh_seconds`` is how often the counts and progress bar are updated during a run;
    ``time_limit`` stops a run that has not settled by then (a broken worker may never let
    it settle): the state then reads ``stopped``, and a message says why.

    Only the dashboard shown last runs. Showing a dashboard (which is what running its cell
    again does) stops the run of the one shown before it, which would otherwise go on out of
    sight, with nothing on screen to stop it.

    Ticking *Lose a worker* runs the correct pool with a lease of ``LOST_LEASE_SECONDS``, and
    the first attempt of ``LOST_JOB`` loses its worker (``LosesItsWorker``): you watch the job
    sit in processing, the sweeper recover it, another worker run it, and the results then
    tell the story from the audit log, the lost worker's late report refused (notebook 09).
    """

    _shown_last: Dashboard | None = None

    def __init__(self, *, refresh_seconds: float = 0.2, time_limit: float = 60.0) -> None:
        self.refresh_seconds = check_number(
            refresh_seconds, "refresh_seconds", minimum=0.001, maximum=60
        )
        self.time_limit = check_number(time_limit, "time_limit", minimum=0.001, maximum=86_400)
        self.store: InMemoryJobStore | None = None

        self.workers = widgets.IntSlider(value=4, min=1, max=8, description="Workers", style=_STYLE)
        self.jobs = widgets.BoundedIntText(
            value=20, min=1, max=2000, description="Jobs", style=_STYLE
        )
        self.email_share = widgets.FloatSlider(
            value=0.3, min=0.0, max=1.0, step=0.05, description="Email share", style=_STYLE
        )
        self.failure_policy = widgets.Dropdown(
            options=list(FAILURE_POLICIES),
            value='fail by type "email"',
            description="Failure policy",
            style=_STYLE,
            layout=_WIDE_CHOICE,
        )
        self.max_retries = widgets.IntSlider(
            value=3, min=1, max=6, description="Max retries", style=_STYLE
        )
        self.sweeper_interval = widgets.FloatSlider(
            value=0.5, min=0.01, max=1.0, step=0.01, description="Sweeper interval", style=_STYLE
        )
        self.handler_seconds = widgets.FloatSlider(
            value=0.4, min=0.0, max=2.0, step=0.01, description="Handler seconds", style=_STYLE
        )
        self.worker = widgets.Dropdown(
            options=[CORRECT_WORKER, BROKEN_WORKER],
            description="Worker",
            style=_STYLE,
            layout=_WIDE_CHOICE,
        )
        self.lost_worker = widgets.Checkbox(
            value=False,
            description="Lose a worker",
            tooltip=f"the first attempt of {LOST_JOB} hangs, sending no heartbeats",
            style=_STYLE,
        )
        self.run_button = widgets.Button(description="Run", button_style="primary")
        self.stop_button = widgets.Button(description="Stop", disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Settled")
        self.counts = widgets.HTML(_counts_html({})).add_class("jql-counts")
        self.state = widgets.Label(READY).add_class("jql-state")
        self.output = widgets.Output()

        self.run_button.on_click(lambda _button: self.run())
        self.stop_button.on_click(lambda _button: self.stop())
        self._controls = [
            self.workers,
            self.jobs,
            self.email_share,
            self.failure_policy,
            self.max_retries,
            self.sweeper_interval,
            self.handler_seconds,
            self.worker,
            self.lost_worker,
        ]
        self.widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(self._controls[:4]), widgets.VBox(self._controls[4:])]),
                widgets.HBox([self.run_button, self.stop_button, self.state]),
                widgets.HBox([self.progress, self.counts]),
                self.output,
            ]
        )
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._stop_reason = STOPPED_BY_BUTTON

    # --- what the buttons do ------------------------------------------------------------

    def run(self) -> None:
        """Start a run with the current settings, as the Run button does; return at once.

        Does nothing while a run is going on.
        """
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            settings = self.settings()
            pool = _make_pool(settings)
            self.store = pool.store
            self._stop_requested = threading.Event()
            self._stop_reason = STOPPED_BY_BUTTON
            self._begin(settings.jobs)
            self._thread = threading.Thread(
                target=self._run,
                args=(pool, settings, self._stop_requested),
                name="dashboard-run",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop, as the Stop button does; return at once.

        The pool then stops its workers: an attempt in progress is cut short and given back
        (released, its attempt not counted), and queued jobs stay pending, so no job is left
        processing.
        The broken pool first lets go of a worker it holds at its race window.
        """
        self._stop(STOPPED_BY_BUTTON)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run thread has finished; False if ``timeout`` seconds passed first."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def settings(self) -> RunSettings:
        """The settings the controls show right now."""
        return RunSettings(
            workers=self.workers.value,
            jobs=self.jobs.value,
            email_share=self.email_share.value,
            failure_policy=self.failure_policy.value,
            max_retries=self.max_retries.value,
            sweeper_interval=self.sweeper_interval.value,
            handler_seconds=self.handler_seconds.value,
            worker=self.worker.value,
            lost_worker=self.lost_worker.value,
        )

    # --- the run thread: it only ever assigns widget values -----------------------------

    def _run(self, pool: WorkerPool, settings: RunSettings, stop: threading.Event) -> None:
        outcome = STOPPED
        try:
            outcome, why = self._drive(pool, settings, stop)
            self._refresh(pool)
            message = () if why is None else (text_output(why),)
            correct = settings.worker == CORRECT_WORKER
            lost = lost_worker_outputs(settings.lost_worker, correct, pool.store)
            self.output.outputs = message + lost + run_results(pool)
        except Exception as exc:
            self.output.outputs = (text_output(f"The run failed: {describe_failure(exc)}"),)
        finally:
            self._end(outcome)

    def _drive(
        self, pool: WorkerPool, settings: RunSettings, stop: threading.Event
    ) -> tuple[str, str | None]:
        """Submit the jobs and watch them: how the run ended, and why if it was stopped.

        The pool is stopped on the way out either way.
        """
        with pool:
            for job_type, payload in job_mix(settings.jobs, settings.email_share):
                if stop.is_set():
                    return STOPPED, self._stop_reason
                pool.submit(job_type, payload, max_retries=settings.max_retries)
            return self._watch(pool, stop)

    def _watch(self, pool: WorkerPool, stop: threading.Event) -> tuple[str, str | None]:
        """Refresh the counts until every job is settled, Stop is pressed or time runs out."""
        deadline = time.monotonic() + self.time_limit
        while not stop.is_set():
            self._refresh(pool)
            if pool.wait(self.refresh_seconds):
                return FINISHED, None
            if time.monotonic() > deadline:
                return STOPPED, (
                    f"Stopped by the time limit: the run had not settled after "
                    f"{self.time_limit:g} seconds (Dashboard(time_limit=...) sets it)."
                )
        return STOPPED, self._stop_reason

    def _stop(self, reason: str) -> None:
        self._stop_reason = reason
        self._stop_requested.set()

    def _refresh(self, pool: WorkerPool) -> None:
        counts = pool.store.counts()
        self.counts.value = _counts_html(counts) + _damage_html(pool)
        self.progress.value = counts[JobStatus.COMPLETED] + _failed_for_good(pool.store)

    def _begin(self, jobs: int) -> None:
        self.output.outputs = ()
        self.progress.max = jobs
        self.progress.value = 0
        self.counts.value = _counts_html({})
        self._enable(running=True)
        self.state.value = RUNNING

    def _end(self, outcome: str) -> None:
        self._enable(running=False)
        self.state.value = outcome

    def _enable(self, *, running: bool) -> None:
        for control in [*self._controls, self.run_button]:
            control.disabled = running
        self.stop_button.disabled = not running

    # --- showing the dashboard ------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        self._take_the_screen()
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<Dashboard: {self.state.value}>"

    def _take_the_screen(self) -> None:
        """Stop the run of the dashboard shown before this one: it has left the screen."""
        previous = Dashboard._shown_last
        if previous is not None and previous is not self:
            previous._stop(STOPPED_BY_NEW_DASHBOARD)
        Dashboard._shown_last = self


def _make_pool(settings: RunSettings) -> WorkerPool:
    handler = simulated_work(settings.handler_seconds, FAILURE_POLICIES[settings.failure_policy])
    if settings.lost_worker and settings.worker == CORRECT_WORKER:
        return pool_with_a_lost_worker(
            handler, settings.workers, settings.sweeper_interval, max(settings.jobs, 1)
        )
    options = {
        "workers": settings.workers,
        "handler": handler,
        "sweeper_interval": settings.sweeper_interval,
        "queue_capacity": max(settings.jobs, 1),
    }
    if settings.worker == BROKEN_WORKER:
        return MutatingWorkerPool(**{**options, "workers": max(settings.workers, 2)})
    return WorkerPool(**options)


def _counts_html(counts: Mapping[JobStatus, int]) -> str:
    """``pending: 3 · processing: 1 · ...``, each count in its status colour."""
    return " &middot; ".join(
        f'<span style="color: {_text_colour(s)}">{s.value}: {counts.get(s, 0)}</span>'
        for s in JobStatus
    )


def _damage_html(pool: WorkerPool) -> str:
    """For the broken worker's pool, the damage where the eye is, beside the counts: how often
    the handlers ran against the attempts the records show, and how many rules the run broke
    (two workers running one job at once count one attempt, or two). Nothing for a correct
    pool, whose store decides every change."""
    if not isinstance(pool, MutatingWorkerPool):
        return ""
    runs, attempts = pool.runs_and_attempts()
    broken = len(pool.damage())
    colour = DAMAGE_COLOUR if broken or runs != attempts else "#333333"
    return (
        f' &middot; <span class="jql-damage" style="color: {colour}; font-weight: bold">'
        f"handler runs: {runs} &middot; attempts recorded: {attempts} &middot; "
        f"rules broken: {broken}</span>"
    )


def _text_colour(status: JobStatus) -> str:
    return "#333333" if status is JobStatus.PENDING else STATUS_COLOURS[status.value]


def _failed_for_good(store: InMemoryJobStore) -> int:
    """Failed jobs that will not be retried. Only failed jobs are read, so refreshing the
    progress bar costs little however many jobs have completed."""
    return sum(not job.can_retry for job in store.list_jobs(JobStatus.FAILED))
