"""The command line: worker and sweeper processes around a store that processes share.

    python -m jobqueue_lab worker --store sqlite:///jobs.db
        --handler jobqueue_lab.processes.handlers:work
        [--workers N] [--lease-seconds S] [--sweeper] [--sweeper-interval S] [--name NAME]
    python -m jobqueue_lab sweeper --store postgresql://localhost/jobs [--interval S]

Without ``--store``, the URL is read from the environment variable ``JOBQUEUE_LAB_STORE``:
any user can read a process's command line, so a URL with a password belongs there instead.

Every argument is checked before the store is opened: a bad one is a usage error (exit status
2) and changes nothing. SIGTERM or SIGINT (Ctrl-C) stops a process gracefully: jobs cut short
are released. The process logs to stderr (``--log-level``) and prints nothing else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from .decisions import MAX_LEASE
from .processes.serve import (
    STORE_VARIABLE,
    load_handler,
    serve,
    stop_on_signals,
    stop_with_parent,
    sweeper,
    wait_for_stop,
)
from .stores.urls import check_shared_url, open_store, redacted
from .sweeper import MAX_INTERVAL
from .validation import check_int, check_number, check_text
from .worker import Handler

SWEEPER_INTERVAL = 0.1
"""Seconds between two sweeps, unless told otherwise."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""What ``--log-level`` accepts, in any case: anything else is a usage error."""


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` asks for; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        url, handler = _checked(args)
    except (TypeError, ValueError) as exc:
        parser.error(redacted(str(exc)))
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    stop_on_signals(stop)
    if args.parent_pid is not None:
        stop_with_parent(args.parent_pid, stop)
    try:
        store = open_store(url, **_store_options(args))
    except (OSError, ValueError) as exc:
        parser.error(f"cannot open the store {redacted(url)!r}: {redacted(str(exc))}")
    with store:
        if args.command == "sweeper":
            return _sweep(store, stop, args.interval)
        interval = args.sweeper_interval if args.sweeper else None
        stopped = serve(
            store, handler, stop, workers=args.workers, name=args.name, sweeper_interval=interval
        )
    return 0 if stopped else 1


def _checked(args: argparse.Namespace) -> tuple[str, Handler | None]:
    """The store URL and the handler, once every argument has passed its check: nothing is
    opened or created before, so a bad argument changes nothing."""
    if args.store is None and STORE_VARIABLE not in os.environ:
        raise ValueError(f"give the store's URL with --store or in ${STORE_VARIABLE}")
    url = check_shared_url(args.store if args.store is not None else os.environ[STORE_VARIABLE])
    check_text(args.name, "--name")
    if args.parent_pid is not None:
        check_int(args.parent_pid, "--parent-pid", minimum=1)
    if args.command == "sweeper":
        check_number(args.interval, "--interval", minimum=0, maximum=MAX_INTERVAL)
        return url, None
    check_int(args.workers, "--workers", minimum=1)
    if args.lease_seconds is not None:
        check_number(args.lease_seconds, "--lease-seconds", minimum=0.001, maximum=MAX_LEASE)
    check_number(args.sweeper_interval, "--sweeper-interval", minimum=0, maximum=MAX_INTERVAL)
    return url, load_handler(args.handler)


def _sweep(store, stop: threading.Event, interval: float) -> int:
    thread = sweeper(store, stop, interval)
    thread.start()
    wait_for_stop(stop)
    thread.join()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobqueue_lab", description="Worker and sweeper processes for jobqueue_lab."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="claim and run jobs with worker threads")
    sweep = commands.add_parser("sweeper", help="recover expired leases and retry failed jobs")
    for command in (worker, sweep):
        command.add_argument(
            "--store", help=f"sqlite:///PATH or postgresql://... (default: ${STORE_VARIABLE})"
        )
        command.add_argument("--name", default=f"pid-{os.getpid()}", help="names the workers")
        command.add_argument("--parent-pid", type=int, help="stop when this process ends")
        command.add_argument(
            "--log-level", default="WARNING", type=str.upper, choices=LOG_LEVELS, help="to stderr"
        )
    worker.add_argument("--handler", required=True, help="module:function to run on each job")
    worker.add_argument("--workers", type=int, default=1, help="worker threads (default 1)")
    worker.add_argument("--lease-seconds", type=float, help="lease of each claim")
    worker.add_argument("--sweeper", action="store_true", help="run a sweeper here too")
    worker.add_argument("--sweeper-interval", type=float, default=SWEEPER_INTERVAL)
    sweep.add_argument("--interval", type=float, default=SWEEPER_INTERVAL, help="between sweeps")
    return parser


def _store_options(args: argparse.Namespace) -> dict:
    """The worker's lease becomes the store's default, so heartbeats are paced to match it."""
    lease = getattr(args, "lease_seconds", None)
    return {} if lease is None else {"lease_seconds": lease}


if __name__ == "__main__":
    sys.exit(main())
