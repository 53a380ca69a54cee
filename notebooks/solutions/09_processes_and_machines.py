"""Worked solutions for notebook 09: a claim in one SQL statement, and a safe start-up."""


def claim(db, job_id):
    """Move a pending job to processing and return True; otherwise change nothing, return False.

    The check and the change are one statement: the database applies the ``UPDATE`` only to a
    row that is still pending at the moment it writes, and it writes one statement at a time,
    so of several processes sending it at once exactly one changes the row. ``rowcount`` says
    whether this call was the one. Reading the status first would not help: whatever a
    ``SELECT`` saw may have changed before the ``UPDATE`` lands, unless the ``UPDATE`` checks
    again.
    """
    moved = db.execute(
        "UPDATE jobs SET status = 'processing' WHERE id = ? AND status = 'pending'", (job_id,)
    )
    return moved.rowcount == 1


def on_startup(store):
    """What a worker process does about other processes' jobs when it starts: only recover the
    jobs whose leases have run out.

    A job in processing may belong to a process that died (perhaps the one this process
    replaces), or to a live worker on another machine; the store cannot tell which, except by
    the lease. A live worker keeps its lease alive with heartbeats, so only an expired lease
    means "nobody is working on this". Recovering it fails the attempt with a reason, and the
    attempt counts, so a job that kills its worker every time still runs out of attempts.
    """
    store.recover_expired_leases(actor="startup")
