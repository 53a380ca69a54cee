"""Checks for notebook 10, permanent failures and idempotency: an invoice sent once, although
its job runs twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import InMemoryJobStore, Job, ManualClock
from .feedback import Problems, attempt, limited

LEASE_SECONDS = 30.0

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
