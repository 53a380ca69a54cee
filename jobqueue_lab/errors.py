"""The errors of the package: what the store raises, each with the facts a caller needs to react,
and the one a handler raises to say that retrying cannot help."""

from __future__ import annotations

from .domain import TRANSITIONS, JobStatus


class JobQueueError(Exception):
    """Base class for every error this package raises on purpose."""


class JobNotFound(JobQueueError, KeyError):
    """No job has this id. A ``KeyError`` too, so ``except KeyError`` also catches it."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"no job with id {self.job_id!r}"


class InvalidTransition(JobQueueError, ValueError):
    """The transition table does not allow this change, so the store refused it."""

    def __init__(self, job_id: str, from_status: JobStatus, to_status: JobStatus) -> None:
        super().__init__(job_id, from_status, to_status)
        self.job_id = job_id
        self.from_status = from_status
        self.to_status = to_status

    def __str__(self) -> str:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[self.from_status])) or "nothing"
        return (
            f"job {self.job_id!r} cannot move from {self.from_status.value!r} to "
            f"{self.to_status.value!r}: from {self.from_status.value!r} it may move to {allowed}"
        )


class StaleClaim(InvalidTransition):
    """A report came from a claim that no longer holds the job, so the store refused it.

    This is fencing: every claim of a job has its own number, and only the current one may
    report, renew or release. A worker whose lease ran out and who reports late (a "zombie")
    is told so, and the attempt that replaced it keeps its result.
    """

    def __init__(
        self,
        job_id: str,
        from_status: JobStatus,
        to_status: JobStatus,
        stale_claim: int,
        current_claim: int,
    ) -> None:
        super().__init__(job_id, from_status, to_status)
        self.args = (job_id, from_status, to_status, stale_claim, current_claim)
        self.stale_claim = stale_claim
        self.current_claim = current_claim

    def __str__(self) -> str:
        return f"job {self.job_id!r}: {stale_claim_reason(self)}"


_ASKED = {
    JobStatus.COMPLETED: "reported completed",
    JobStatus.FAILED: "reported failed",
    JobStatus.PROCESSING: "asked to renew its lease",
    JobStatus.PENDING: "asked to release the job",
}


def stale_claim_reason(error: StaleClaim) -> str:
    """Why a stale claim was refused, in the words the audit log keeps."""
    if error.from_status is JobStatus.PROCESSING:
        holder = f"claim {error.current_claim} holds the job"
    else:
        holder = f"the job is {error.from_status.value} now"
    return f"claim {error.stale_claim} {_ASKED[error.to_status]} after losing the job; {holder}"


class StoreUnavailable(JobQueueError, ConnectionError):
    """The store's database could not be reached, or kept this call waiting too long for a
    lock another session holds.

    ``committed`` says what became of the change: ``False`` when it provably was not made (the
    connection broke, or the wait ran out, before COMMIT was sent), so trying it again is safe
    and is the right thing to do; ``None`` when the connection broke while COMMIT was on its way,
    so nobody can know. Even then trying again is safe: a report that did commit is refused the
    second time (and audited), never applied twice.
    """

    def __init__(self, doing: str, reason: str, *, committed: bool | None) -> None:
        super().__init__(doing, reason)
        self.doing = doing
        self.reason = reason
        self.committed = committed

    def __str__(self) -> str:
        if self.committed is False:
            made = "nothing was changed"
        else:
            made = "the change may or may not have been made"
        return f"the store could not be reached while {self.doing} ({self.reason}); {made}"


class UnusableDatabase(JobQueueError, ValueError):
    """The store cannot keep its jobs in this database, and says which one and why.

    A path to a missing folder, a file that is not a database, tables of another program
    that happen to share a name with the store's: each would otherwise surface as a bare
    driver message ("unable to open database file", "no such column"), or worse, as the
    store's tables quietly added beside another program's. This error is raised instead,
    before anything is created or changed.
    """

    def __init__(self, where: object, reason: str) -> None:
        super().__init__(where, reason)
        self.where = str(where)
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot keep jobs in {self.where}: {self.reason}"


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (a malformed payload, a refused card):
    the job fails for good at once, whatever attempts it has left."""
