"""Worked solution for notebook 11, processes on one machine: a safe start-up."""


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
