"""What a worker process runs: claiming workers (and perhaps a sweeper) around a shared store.

A process shares nothing with the others but the store, so its workers are ``ClaimingWorker``s
that ask the store for the next job, and its sweeper only recovers expired leases and retries
failed jobs: there is no queue to fill. ``python -m jobqueue_lab worker`` (see ``__main__``)
calls ``serve`` and sets its stop event on SIGTERM or SIGINT: work in progress is asked to
stop, and jobs cut short are released. SIGKILL ends the process at once instead: its jobs stay
processing until their leases run out, a sweeper recovers them, and anything the process might
still have said about them would be refused (fencing).
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
import time

from ..pool import STOP_TIMEOUT
from ..stores.contract import JobStore
from ..sweeper import MAX_INTERVAL, Sweeper
from ..validation import check_callable, check_int, check_number, check_text
from ..worker import ClaimingWorker, Handler

log = logging.getLogger(__name__)

STORE_VARIABLE = "JOBQUEUE_LAB_STORE"
"""The environment variable a worker process reads its store URL from when not given
``--store``: how ``ProcessWorkers`` passes it. A URL may hold a password, and any user can
read a process's command line, but only its owner can read its environment."""

PARENT_POLL = 0.2
"""How often, in seconds, a process looks whether the process that started it still runs."""

STOP_POLL = 0.1
"""How often, in seconds, the main thread wakes while it waits for the stop (see
``wait_for_stop``)."""


def serve(
    store: JobStore,
    handler: Handler,
    stop: threading.Event,
    *,
    workers: int = 1,
    name: str = "worker",
    sweeper_interval: float | None = None,
    stop_timeout: float = STOP_TIMEOUT,
) -> bool:
    """Run ``workers`` claiming workers named ``{name}.worker-1``, ... (and a sweeper every
    ``sweeper_interval`` seconds, if given) until ``stop`` is set; then wait for them at most
    ``stop_timeout`` seconds. Returns False if a handler ignored the stop and still runs.
    Claims last the store's ``lease_seconds``."""
    check_int(workers, "workers", minimum=1)
    check_callable(handler, "handler", "with a job")
    threads: list[threading.Thread] = [
        ClaimingWorker(f"{name}.worker-{n}", store, None, handler, stop)
        for n in range(1, workers + 1)
    ]
    if sweeper_interval is not None:
        threads.append(sweeper(store, stop, sweeper_interval))
    for thread in threads:
        thread.start()
    log.info("%s: %d workers started", name, workers)
    wait_for_stop(stop)
    deadline = time.monotonic() + stop_timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stopped = not any(thread.is_alive() for thread in threads)
    log.info("%s: %s", name, "stopped" if stopped else "a handler ignored the stop")
    return stopped


def wait_for_stop(stop: threading.Event) -> None:
    """Wait, in the main thread, until ``stop`` is set, waking every ``STOP_POLL`` seconds.

    The kernel may hand SIGTERM to any thread of the process (after a SIGSTOP and SIGCONT, to
    whichever runs first), but Python runs the handler that sets ``stop`` in the main thread,
    and only once that thread runs: asleep in ``stop.wait()`` with no timeout, it might never.
    """
    while not stop.wait(STOP_POLL):
        pass


def sweeper(store: JobStore, stop: threading.Event, interval: float) -> Sweeper:
    """A sweeper for processes that claim their own jobs: it recovers expired leases and
    retries failed jobs every ``interval`` seconds, and offers no ids to anyone."""
    check_number(interval, "sweeper interval", minimum=0, maximum=MAX_INTERVAL)
    return Sweeper(store, _no_queue, interval=interval, stop=stop, batch=0)


def load_handler(spec: str) -> Handler:
    """The function that ``module:function`` names, imported, or a ``ValueError`` (``TypeError``
    for something not callable) saying why no process could run it."""
    check_text(spec, "handler")
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"handler must look like module:function, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"handler {spec!r} cannot be imported: {exc}") from exc
    handler = getattr(module, attribute, None)
    if handler is None:
        raise ValueError(f"handler {spec!r}: module {module_name!r} has no {attribute!r}")
    return check_callable(handler, "handler", "with a job")


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGTERM and SIGINT (call from the main thread)."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())


def stop_with_parent(parent_pid: int, stop: threading.Event) -> None:
    """Stop when the process ``parent_pid`` that started this one ends, however it ends.

    A process whose parent dies passes to another parent, so a thread looks every
    ``PARENT_POLL`` seconds whether the parent is still ``parent_pid``: a notebook kernel
    killed on restart leaves no worker behind. (Linux's ``PR_SET_PDEATHSIG`` would not do: it
    fires when the *thread* that started this process ends, and a notebook may start workers
    from a thread that ends long before the kernel does.)
    """
    check_int(parent_pid, "parent pid", minimum=1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid, stop), name="parent-watch", daemon=True
    ).start()


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while os.getppid() == parent_pid:
        if stop.wait(PARENT_POLL):
            return
    log.warning("the process that started this one (pid %d) has ended: stopping", parent_pid)
    stop.set()


def _no_queue(job_id: str) -> bool:
    return False
