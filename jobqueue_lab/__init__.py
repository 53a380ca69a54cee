"""jobqueue_lab: a small, readable job queue for learning how queues handle failure.

Jobs move ``pending -> processing -> completed | failed``, and a failed job may go back to
``pending`` while it has attempts left. Workers signal outcomes; the store validates and
applies them under one lock; the sweeper retries failed jobs within the limit. The same store
contract is kept in memory, in a SQLite file and in PostgreSQL, where worker processes share it.
"""

import logging

from .audit import Transition
from .backoff import constant, exponential, no_delay
from .clock import ManualClock
from .domain import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    RELEASE,
    TRANSITIONS,
    Job,
    JobStatus,
    can_transition,
    may_retry,
)
from .errors import (
    InvalidTransition,
    JobNotFound,
    JobQueueError,
    PermanentFailure,
    StaleClaim,
    StoreUnavailable,
    UnusableDatabase,
)
from .failures import (
    SimulatedFailure,
    WorkInterrupted,
    combine,
    fail_by_type,
    fail_every_nth_attempt,
    fail_on_payload,
    fail_until_attempt,
    never_fail,
    simulated_work,
)
from .pool import WorkerPool
from .processes.workers import ProcessWorkers
from .stores.contract import JobStore
from .stores.memory import InMemoryJobStore, sequential_ids
from .stores.postgres import PostgresJobStore
from .stores.sqlite import SQLiteJobStore
from .stores.urls import open_store
from .sweeper import Sweeper, SweepReport
from .work_queue import WorkQueue
from .worker import (
    ClaimingWorker,
    Worker,
    describe_failure,
    heartbeat,
    heartbeat_interval,
    stop_requested,
)

# The library convention: log to whoever configures logging, never to a notebook cell by default.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "COMPLETED",
    "FAILED",
    "PENDING",
    "PROCESSING",
    "RELEASE",
    "TRANSITIONS",
    "ClaimingWorker",
    "InMemoryJobStore",
    "InvalidTransition",
    "Job",
    "JobNotFound",
    "JobQueueError",
    "JobStatus",
    "JobStore",
    "ManualClock",
    "PermanentFailure",
    "PostgresJobStore",
    "ProcessWorkers",
    "SQLiteJobStore",
    "SimulatedFailure",
    "StaleClaim",
    "StoreUnavailable",
    "SweepReport",
    "Sweeper",
    "Transition",
    "UnusableDatabase",
    "WorkInterrupted",
    "WorkQueue",
    "Worker",
    "WorkerPool",
    "can_transition",
    "combine",
    "constant",
    "describe_failure",
    "exponential",
    "fail_by_type",
    "fail_every_nth_attempt",
    "fail_on_payload",
    "fail_until_attempt",
    "heartbeat",
    "heartbeat_interval",
    "may_retry",
    "never_fail",
    "no_delay",
    "open_store",
    "sequential_ids",
    "simulated_work",
    "stop_requested",
]
