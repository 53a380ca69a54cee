"""Worked solutions for notebook 02: a failure policy, and signalling an outcome."""

from jobqueue_lab import InMemoryJobStore, Job, JobStatus

PAGE_LIMIT = 100


def fail_big_reports(job: Job) -> str | None:
    """Fail report jobs of more than 100 pages; let every other job through.

    ``payload.get`` treats a missing "pages" as zero, so a job without it succeeds instead of
    crashing the policy. Success is ``None``: "no error", never an empty string.
    """
    pages = job.payload.get("pages", 0)
    if job.type == "report" and pages > PAGE_LIMIT:
        return f"report of {pages} pages is over the limit of {PAGE_LIMIT}"
    return None


def report_outcome(store: InMemoryJobStore, job_id: str, error: str | None) -> None:
    """Signal the outcome of a claimed job: completed if error is None, else failed.

    The worker only asks. The store checks the transition table and sets status and error
    together, or refuses and changes nothing.
    """
    if error is None:
        store.update_status(job_id, JobStatus.COMPLETED)
    else:
        store.update_status(job_id, JobStatus.FAILED, error)
