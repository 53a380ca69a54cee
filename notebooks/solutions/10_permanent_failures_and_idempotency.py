"""Worked solution for notebook 10, permanent failures and idempotency: an invoice sent once."""

from jobqueue_lab.exercises.nb10_permanent_failures_and_idempotency import invoice_text


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
