"""Worked solution for notebook 12, many machines: a claim in one SQL statement."""


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
