"""Every deliberately broken variant, in one place: an index of the modules that hold them.

Each variant lives in a module of its own, whose first docstring line names its mistake; this
module only gathers them, so ``from jobqueue_lab.mistakes.broken import UnlockedStore`` works.
The correct code they are measured against is in ``baseline``, never here.
"""

from .forgetful_worker import ForgetfulWorker
from .mutating_pool import MutatingWorkerPool
from .mutating_worker import JobRecord, LiveRecordStore, MutatingWorker
from .no_fencing import UnfencedStore
from .no_lease import NoLeaseStore
from .no_retry_limit import NoRetryLimitStore
from .random_failure import RandomFailure
from .save_too_early import SaveTooEarlyStore
from .self_retrying_worker import SelfRetryingWorker
from .unchecked_error import error_lines_unchecked
from .unconditional_update import UnconditionalUpdateStore
from .unlocked_store import UnlockedStore

__all__ = [
    "ForgetfulWorker",
    "JobRecord",
    "LiveRecordStore",
    "MutatingWorker",
    "MutatingWorkerPool",
    "NoLeaseStore",
    "NoRetryLimitStore",
    "RandomFailure",
    "SaveTooEarlyStore",
    "SelfRetryingWorker",
    "UnconditionalUpdateStore",
    "UnfencedStore",
    "UnlockedStore",
    "error_lines_unchecked",
]
