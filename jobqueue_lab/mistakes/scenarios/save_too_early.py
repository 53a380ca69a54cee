"""Scenario for mistake 3, saved before the error: the real worker on a store that saves early."""

from __future__ import annotations

from ...domain import FAILED
from ..save_too_early import SaveTooEarlyStore
from .harness import Sides, mixed_jobs_side_by_side, scenario


@scenario("saved before the error", "mistake 3: not saving after setting last_error")
def scenario_saved_before_error(timeout: float) -> Sides:
    """Mistake 3: the same worker and jobs, on a store that saves too early and on the real one."""
    broken, correct = mixed_jobs_side_by_side(
        SaveTooEarlyStore(),
        "Worker on SaveTooEarlyStore",
        "the reason was set after the save, and lost",
        timeout,
    )
    return Sides(broken, correct, notes=_what_the_caller_was_told())


def _what_the_caller_was_told() -> tuple[str, ...]:
    store = SaveTooEarlyStore()
    job_id = store.create_job("email").id
    store.claim_job(job_id)
    told = store.update_status(job_id, FAILED, "SMTPError: mailbox full")
    return (
        f"update_status handed back {job_id} with last_error {told.last_error!r}; "
        f"the stored {job_id} has last_error {store.get_job(job_id).last_error!r}.",
    )
