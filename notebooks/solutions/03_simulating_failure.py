"""Worked solution for notebook 03, exercise "a failure policy of your own"."""

from jobqueue_lab import Job

PAGE_LIMIT = 100


def fail_big_reports(job: Job) -> str | None:
    """Fail report jobs of more than 100 pages; let every other job through.

    The answer comes from the job alone (its type and payload), so every run fails the same
    jobs. ``payload.get`` treats a missing "pages" as zero, so a job without it succeeds instead
    of crashing the policy. Success is ``None``: "no error", never an empty string.
    """
    pages = job.payload.get("pages", 0)
    if job.type == "report" and pages > PAGE_LIMIT:
        return f"report of {pages} pages is over the limit of {PAGE_LIMIT}"
    return None
