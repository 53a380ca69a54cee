"""Worked solutions for notebook 04: predicting an outcome, and translating a limit."""


def predict_outcome(max_retries: int, succeeds_from: int) -> tuple[str, int]:
    """How a job ends: (final status, attempts used).

    Attempt number ``succeeds_from`` is the first that works. If the budget reaches it, the job
    completes right there; otherwise every allowed attempt fails and the job stops failed.
    """
    if succeeds_from <= max_retries:
        return ("completed", succeeds_from)
    return ("failed", max_retries)


def celery_max_retries(max_retries: int) -> int:
    """Celery's max_retries for a job allowed max_retries attempts in total here.

    Celery counts the retries after the first run, so it needs one fewer.
    """
    return max_retries - 1
