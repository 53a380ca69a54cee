"""Checks for notebook 08, lost workers: keeping a lease alive, and a handler that may run twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import InMemoryJobStore, Job, JobStatus, ManualClock, Worker, WorkQueue
from .feedback import Problems, attempt, limited

LEASE_SECONDS = 30.0
STEP_SECONDS = 20.0
STEPS = 3
"""The long job of the first exercise: three steps of 20 s each, under a lease of 30 s."""

STORE_REFUSALS = ("StaleClaim", "JobNotFound", "InvalidTransition")
OTHER_STORE_HINT = (
    "The check runs your export in a store of its own, where the worker's claim is still "
    "current; a store of your notebook (such as `store`) is another store, with other jobs "
    "under the same ids. Keep the lease alive in the store this worker is running the job "
    "for, without naming a store"
)

RUN_SECONDS = 10
"""How long, in real seconds, the check waits for the learner's handler before giving up."""


def check_long_export(long_export: Callable[[Job, Callable[[Job], None]], Any]) -> Problems:
    """``long_export(job, step)`` does a long job as ``STEPS`` calls of ``step(job)``.

    Each step takes 20 s on the store's clock, and the lease is 30 s, so the whole job outlives
    its lease unless the worker keeps it alive. The check runs the handler inside a real
    ``Worker`` (so that ``heartbeat()`` reaches the claim), on a store with a ``ManualClock``;
    after each step it asks the store to recover expired leases, as a sweeper would while the
    worker works. Wanted: every step done, no recovery, and the job completed by its one attempt.
    """
    if not callable(long_export):
        return [f"long_export is not a function (it is a {type(long_export).__name__})"]
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=LEASE_SECONDS)
    run = _ExportRun(store, clock)
    job = store.claim_job(store.create_job("export").id, actor="worker-1")
    handler = lambda job: long_export(job, run.step)  # noqa: E731
    worker = Worker("worker-1", store, WorkQueue(), handler, threading.Event())
    thread = threading.Thread(target=worker.process, args=(job,), name="worker-1", daemon=True)
    thread.start()
    thread.join(RUN_SECONDS)
    if thread.is_alive():
        return [
            f"long_export(job, step) had not returned after {RUN_SECONDS} seconds, so the "
            "check stopped waiting: the run timed out. Does it wait for something that never "
            "comes, or loop for ever? (On a very busy machine, run the check again.)"
        ]
    return run.problems(store.get_job(job.id))


@dataclass
class _ExportRun:
    """The check's side of the long job: the steps it saw, and the recovery, if there was one."""

    store: InMemoryJobStore
    clock: ManualClock
    steps: int = 0
    lost: tuple[int, float, float] | None = None  # step, clock time, last renewal

    def step(self, job: Job) -> None:
        """One step of the work: 20 s pass on the store's clock, then the sweeper looks."""
        self.steps += 1
        now = self.clock.advance(STEP_SECONDS)
        held = self.store.get_job(job.id)
        if self.store.recover_expired_leases(actor="sweeper") and self.lost is None:
            self.lost = (self.steps, now, held.lease_expires_at - LEASE_SECONDS)

    def problems(self, job: Job) -> Problems:
        if self.lost is not None:
            step, now, renewed = self.lost
            heard = (
                "the lease still dated from the claim, at 0 s"
                if renewed == 0
                else f"the lease was last renewed at {renewed:g} s"
            )
            return [
                f"the lease ran out during step {step} (the sweeper looked at {now:g} s on the "
                f"store's clock; {heard}), so the store took the worker for lost, failed the "
                "attempt and refused the worker's late report. A worker that is busy for longer "
                "than its lease has to tell the store, now and again, that it is still at work."
            ]
        if job.status is JobStatus.FAILED:
            problem = f"long_export(job, step) raised {job.last_error}"
            if (job.last_error or "").startswith(STORE_REFUSALS):
                problem += f". {OTHER_STORE_HINT}"
            return [problem]
        if self.steps != STEPS:
            return [
                f"long_export called step(job) {self.steps} time(s); the export has {STEPS} "
                "steps, and every one of them must be done"
            ]
        return []


# --- the second exercise: an invoice sent once, although its job runs twice ---------------------

INVOICES: tuple[tuple[str, int], ...] = (
    ("ada@example.org", 1),
    ("ada@example.org", 2),
    ("bob@example.org", 3),
)
"""The invoices the check sends, one job each: two for the same customer, one for another."""


class MailService:
    """A pretend mail service that, like a payment provider, honours idempotency keys.

    ``send(to, text, key=...)`` sends the message unless a message with the same ``key`` was
    sent before; then it sends nothing and returns False. Without a key it always sends.
    ``sent`` lists every message really sent, in order; ``calls`` every call, with its key.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.calls: list[tuple[str, str, object]] = []
        self._keys: set[object] = set()

    def send(self, to: str, text: str, *, key: object = None) -> bool:
        self.calls.append((to, text, key))
        if key is not None:
            if key in self._keys:
                return False
            self._keys.add(key)
        self.sent.append((to, text))
        return True


class _LostMachine(BaseException):
    """The worker's machine switched off: nothing after this point of the handler runs.

    A ``BaseException``, so that no ``except Exception`` in a handler can survive it."""


class _MailThenPowerCut:
    """The mail service as the first attempts see it: the message goes out, and at that very
    moment the worker's machine goes dark."""

    def __init__(self, service: MailService) -> None:
        self._service = service

    def send(self, to: str, text: str, *, key: object = None) -> bool:
        self._service.send(to, text, key=key)
        raise _LostMachine


def invoice_text(number: int) -> str:
    """The text of invoice ``number``, as the starter and the solution send it."""
    return f"Invoice {number} is attached."


def check_send_invoice(send_invoice: Callable[[Job, MailService], Any]) -> Problems:
    """``send_invoice(job, mail)`` sends the invoice ``job.payload`` describes.

    The check runs one job per invoice in ``INVOICES``. The worker of every first attempt is
    lost the moment its invoice goes out, before the handler can do anything more (write down
    that it sent it, or report): the lease runs out, the sweeper recovers the job, and a second
    worker runs the handler again. Wanted: every invoice sent exactly once, the ones for the
    same customer included, and each sent with a key, because whatever a handler remembers
    itself is lost with its worker.
    """
    clock = ManualClock()
    store = InMemoryJobStore(clock=clock, lease_seconds=LEASE_SECONDS)
    mail = MailService()
    jobs = [store.create_job("invoice", {"to": to, "number": n}).id for to, n in INVOICES]
    for worker, service in (("worker-1", _MailThenPowerCut(mail)), ("worker-2", mail)):
        for job_id in jobs:
            job = store.claim_job(job_id, actor=worker)
            try:
                _, problem = attempt(send_invoice, job, service, call="send_invoice(job, mail)")
            except _LostMachine:
                continue
            if problem is not None:
                return [problem]
        if worker == "worker-1":  # lost, every one of them, before they could report
            clock.advance(LEASE_SECONDS)
            store.recover_expired_leases(actor="sweeper")
            store.retry_failed_jobs(actor="sweeper")
    others = [message for message in mail.sent if message not in _expected()]
    if others:
        return [
            f"the mail service got a message no invoice describes: {others[0]!r}; send "
            "invoice_text(number) to the address in job.payload"
        ]
    return limited([p for to, number in INVOICES for p in _invoice_problems(mail, to, number)])


def _invoice_problems(mail: MailService, to: str, number: int) -> Problems:
    """What went wrong with one invoice: sent twice, never sent, or sent without a key."""
    text = invoice_text(number)
    calls = [key for sent_to, sent_text, key in mail.calls if (sent_to, sent_text) == (to, text)]
    times = mail.sent.count((to, text))
    if times > 1:
        return [
            f"invoice {number} to {to} was sent {times} times, once by each attempt: the "
            "second attempt cannot tell that the first one already sent it"
        ]
    if not calls:
        return [
            f"invoice {number} to {to} was never handed to the mail service: did send_invoice "
            "skip it because of something it remembered (from an earlier run of the check, "
            "perhaps)? What a worker remembers dies with the worker, and a new job never ran"
        ]
    if times == 0:
        return [
            f"invoice {number} to {to} was never sent: the mail service took its key for one "
            "it had already seen. Different jobs need different keys"
        ]
    if None in calls:
        return [
            f"invoice {number} to {to} went to the mail service without a key. Whatever the "
            "handler keeps to remember what it sent lives in its worker, and a worker lost at "
            "the wrong moment takes it along: only the mail service can tell a second attempt "
            "that the first one sent this invoice"
        ]
    return []


def _expected() -> list[tuple[str, str]]:
    return [(to, invoice_text(number)) for to, number in INVOICES]
