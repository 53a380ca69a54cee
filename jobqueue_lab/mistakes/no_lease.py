"""No lease: a claim is forever, so a job whose worker hangs or dies stays processing for good.

Correct counterpart: ``JobStore.recover_expired_leases`` (``stores/contract.py``), which the
sweeper calls on every sweep, so a job whose lease ran out is failed, counted and retried like
any other failure.
"""

from __future__ import annotations

from ..domain import Job
from ..stores.memory import InMemoryJobStore


class NoLeaseStore(InMemoryJobStore):
    """The real store, except that nothing ever takes a job back from a worker that went quiet.

    It still writes a deadline on each claim, but ``recover_expired_leases`` never acts on it,
    and a lease nobody enforces is no lease. A worker that hangs or is lost holds its job for
    good: nobody else may claim it, and the run never settles.
    """

    def recover_expired_leases(self, *, actor: str | None = None) -> list[Job]:
        return []
