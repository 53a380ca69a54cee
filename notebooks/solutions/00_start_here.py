"""Worked solution for notebook 00, exercise "a first run of your own"."""

from jobqueue_lab import WorkerPool, fail_by_type, simulated_work


def first_run():
    """Run three report jobs and two email jobs, at most two attempts each."""
    handler = simulated_work(fail=fail_by_type("email"))
    with WorkerPool(workers=2, handler=handler) as pool:
        for job_type in ("report", "report", "report", "email", "email"):
            pool.submit(job_type, max_retries=2)
        pool.wait(timeout=10)
    return pool.store
