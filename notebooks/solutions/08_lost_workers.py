"""Worked solutions for notebook 08: keeping a lease alive, and an invoice sent once."""

from jobqueue_lab import heartbeat
from jobqueue_lab.exercises.nb08_lost_workers import invoice_text


def long_export(job, step):
    """Export in three steps of 20 s each (on the store's clock), under a 30 s lease.

    After each step the worker says "still at work" with ``heartbeat()``, which moves the
    deadline to 30 s from now. A step takes 20 s, so the lease never runs out while the worker
    is busy; if the worker hung inside a step, its heartbeats would stop and the lease would
    run out, which is the point of having one. ``heartbeat()`` returns False once the claim
    has lost the job: the work is someone else's then, so there is no point going on.
    """
    for _ in range(3):
        step(job)
        if not heartbeat():
            return


def send_invoice(job, mail):
    """Send the invoice the job describes, at most once however often the job runs.

    The key is the job's id and the name of the effect: the same on every attempt of this
    job (the claim number would not be: it changes each time), and different for every other
    job, even one with the same payload. The mail service keeps the keys it has seen, so the
    check and the sending happen in one place; a record kept by the handler could be lost in
    the very moment between sending and writing it down.
    """
    number = job.payload["number"]
    mail.send(job.payload["to"], invoice_text(number), key=f"{job.id}:invoice")
