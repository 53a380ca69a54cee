"""Scenario for mistake 2, failed with no reason: one worker says why a job failed, one does not."""

from __future__ import annotations

from ...domain import FAILED
from ...stores.memory import InMemoryJobStore
from ...worker import describe_failure
from ..baseline import PlainStore
from ..forgetful_worker import ForgetfulWorker
from .harness import Sides, mixed_jobs_side_by_side, scenario


@scenario("failed with no reason", "mistake 2: not setting last_error")
def scenario_failed_without_reason(timeout: float) -> Sides:
    """Mistake 2: the same jobs, one worker that says why a job failed and one that does not.
    The broken worker reports to ``PlainStore``, which, like the chapter's store, records it."""
    broken, correct = mixed_jobs_side_by_side(
        PlainStore(),
        "ForgetfulWorker on PlainStore",
        "failed jobs do not say why they failed",
        timeout,
        worker=ForgetfulWorker,
    )
    return Sides(broken, correct, notes=_real_store_refuses_a_failure_without_reason())


def _real_store_refuses_a_failure_without_reason() -> tuple[str, ...]:
    store = InMemoryJobStore()
    job_id = store.create_job("email", {"to": "ada@example.org"}, actor="scenario").id
    store.claim_job(job_id, actor="worker-1")
    try:
        store.update_status(job_id, FAILED, actor="worker-1")
    except ValueError as exc:
        refusal = describe_failure(exc)
    else:
        raise AssertionError("InMemoryJobStore accepted a failure with no last_error")
    [entry] = [t for t in store.transitions() if not t.accepted]
    return (
        f"Sent to InMemoryJobStore, the same report is refused: {refusal}",
        f"Its audit log records the refusal ({entry.job_id}: {entry.from_status} -> "
        f"{entry.to_status}, refused), and {job_id} is still {store.get_job(job_id).status}.",
    )
