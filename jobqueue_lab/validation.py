"""Input checks for the store: refuse bad input with a clear, typed error before anything changes.

Each check raises ``TypeError`` for the wrong kind of value and ``ValueError`` for a value of the
right kind that is out of range, and says what it got. The store runs them before it takes its
lock, so a refused call leaves nothing half-done.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .domain import freeze_payload


def check_job_type(job_type: object) -> None:
    """A job type is a non-empty str: it is how failure policies and tables tell jobs apart."""
    if not isinstance(job_type, str):
        raise TypeError(f"job type must be a str, got {type(job_type).__name__}")
    if not job_type.strip():
        raise ValueError("job type must not be empty")


def check_max_retries(max_retries: object) -> None:
    """At least one attempt; ``True`` is refused although Python counts it as the int 1."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(f"max_retries must be an int, got {type(max_retries).__name__}")
    if max_retries < 1:
        raise ValueError(f"max_retries must be at least 1 (attempts in total), got {max_retries}")


def check_limit(limit: object) -> None:
    """``None`` (no limit) or a count of zero or more."""
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")


def checked_payload(payload: object) -> Mapping[str, Any]:
    """Return a read-only copy of a JSON-compatible dict, or say which part is not JSON."""
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a dict (a JSON object), got {type(payload).__name__}")
    _check_json_value(payload, "payload")
    return freeze_payload(payload)


def _check_json_value(value: object, where: str) -> None:
    """Raise a ``TypeError``/``ValueError`` naming the first part of ``value`` JSON cannot hold."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}, which JSON cannot represent")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has key {key!r}: JSON object keys must be str")
            _check_json_value(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_value(item, f"{where}[{index}]")
        return
    raise TypeError(f"{where} is a {type(value).__name__}, which is not JSON-compatible")
