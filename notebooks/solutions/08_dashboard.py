"""Worked solution for notebook 08, the dashboard."""


def configure(dash) -> None:
    """Twelve quick jobs whose first attempt fails and whose second attempt works.

    "Transient until attempt 2" fails every job's first attempt and lets the second succeed,
    so every job needs the sweeper once and none fails for good, provided each job may have
    at least two attempts. The failure policies that fail the same jobs on every attempt
    (by type, by payload) would leave those jobs failed however many retries they get, and
    "every 2nd attempt" never fails a first attempt, so nothing would be retried.
    """
    dash.jobs.value = 12
    dash.handler_seconds.value = 0.0
    dash.sweeper_interval.value = 0.02
    dash.failure_policy.value = "transient until attempt 2"
    dash.max_retries.value = 2
