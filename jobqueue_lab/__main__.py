"""The command line: worker and sweeper processes around a store that processes share.

    python -m jobqueue_lab worker --store sqlite:///jobs.db
        --handler jobqueue_lab.processes.handlers:work
        [--workers N] [--lease-seconds S] [--sweeper] [--sweeper-interval S] [--name NAME]
    python -m jobqueue_lab sweeper --store postgresql://localhost/jobs [--interval S]

SIGTERM or SIGINT (Ctrl-C) stops a process gracefully: jobs cut short are released. The process
logs to stderr (``--log-level``) and prints nothing else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from .processes.serve import load_handler, serve, stop_on_signals, stop_with_parent, sweeper
from .stores.urls import is_shared, open_store

SWEEPER_INTERVAL = 0.1
"""Seconds between two sweeps, unless told otherwise."""


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` asks for; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s",
    )
    if not is_shared(args.store):
        parser.error(f"--store must name a store that processes share, not {args.store!r}")
    if args.command == "worker" and args.workers < 1:
        parser.error(f"--workers must be 1 or more, got {args.workers}")
    stop = threading.Event()
    stop_on_signals(stop)
    if args.parent_pid is not None:
        stop_with_parent(args.parent_pid, stop)
    try:
        handler = load_handler(args.handler) if args.command == "worker" else None
        store = open_store(args.store, **_store_options(args))
    except (ImportError, TypeError, ValueError) as exc:
        parser.error(str(exc))
    with store:
        if args.command == "sweeper":
            return _sweep(store, stop, args.interval)
        interval = args.sweeper_interval if args.sweeper else None
        stopped = serve(
            store, handler, stop, workers=args.workers, name=args.name, sweeper_interval=interval
        )
    return 0 if stopped else 1


def _sweep(store, stop: threading.Event, interval: float) -> int:
    thread = sweeper(store, stop, interval)
    thread.start()
    stop.wait()
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
        command.add_argument("--store", required=True, help="sqlite:///PATH or postgresql://...")
        command.add_argument("--name", default=f"pid-{os.getpid()}", help="names the workers")
        command.add_argument("--parent-pid", type=int, help="stop when this process ends")
        command.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING, ...")
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
