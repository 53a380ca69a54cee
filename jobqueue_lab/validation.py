"""Argument checks: refuse bad input with a clear, typed error before anything changes.

One rule everywhere in the package: the wrong *kind* of value is a ``TypeError``, a value of the
right kind that is out of range is a ``ValueError``, and the message names the argument and
says what it got. Every module calls these checks instead of writing its own, so the rule and
the wording are the same wherever a learner meets them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

MAX_PAYLOAD_DEPTH = 64
"""How deeply a payload may nest dicts and lists. Deeper (or self-referring) payloads are
refused: real job payloads are shallow, and a limit keeps every reader of a payload safe from
running out of stack."""

_HUGE_INT_BITS = 10_000  # ints this long may exceed Python's int-to-text digit limit


def _type_name(value: object) -> str:
    return type(value).__name__


def check_int(value: object, name: str, *, minimum: int) -> int:
    """An int of at least ``minimum``; ``True`` is refused although Python counts it as 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {_type_name(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def check_number(value: object, name: str, *, minimum: float, maximum: float) -> float:
    """A finite int or float from ``minimum`` to ``maximum`` (inclusive), returned as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {_type_name(value)}")
    if not (math.isfinite(value) and minimum <= value <= maximum):
        raise ValueError(f"{name} must be a number from {minimum} to {maximum}, got {value!r}")
    return float(value)


def check_timeout(value: object, name: str = "timeout") -> float | None:
    """Seconds to wait: ``None``, ``math.inf`` or anything longer than the platform can wait
    means "no timeout" and comes back as ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, got {_type_name(value)}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0 or None, got {value!r}")
    return None if value > threading.TIMEOUT_MAX else float(value)


def check_callable(value: object, name: str, what: str) -> Callable[..., Any]:
    """A callable; ``what`` says what it is called with, for the message."""
    if not callable(value):
        raise TypeError(f"{name} must be callable {what}, got {_type_name(value)}")
    return value


def check_text(value: object, name: str) -> str:
    """A str with something other than whitespace in it."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {_type_name(value)}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def check_actor(actor: object) -> str | None:
    """Who asks for a change, as the audit log will name them: a non-empty str, or ``None``
    for "the calling thread"."""
    return None if actor is None else check_text(actor, "actor")


def check_job_type(job_type: object) -> str:
    """A job type is a non-empty str: it is how failure policies and tables tell jobs apart."""
    return check_text(job_type, "job type")


def check_max_retries(max_retries: object) -> int:
    """At least one attempt in total."""
    return check_int(max_retries, "max_retries", minimum=1)


def check_limit(limit: object) -> int | None:
    """``None`` (no limit) or a count of zero or more."""
    return None if limit is None else check_int(limit, "limit", minimum=0)


def checked_payload(payload: object) -> Mapping[str, Any]:
    """A read-only copy of a JSON-compatible dict, or an error naming the part that is not.

    Checking and copying happen in one pass, so what was checked is exactly what is stored,
    even if the caller's dict changes while it is being read.
    """
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a dict (a JSON object), got {_type_name(payload)}")
    return _frozen_json(payload, "payload", 0)


def _frozen_json(value: object, where: str, depth: int) -> Any:
    """Check one JSON value and return its frozen copy: dicts read-only, lists as tuples."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if value.bit_length() > _HUGE_INT_BITS:
            _check_int_converts(value, where)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}, which JSON cannot represent")
        return value
    if depth >= MAX_PAYLOAD_DEPTH:
        raise ValueError(
            f"{where} is nested more than {MAX_PAYLOAD_DEPTH} levels deep "
            "(or the payload contains itself)"
        )
    if isinstance(value, Mapping):
        frozen = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has key {key!r}: JSON object keys must be str")
            frozen[key] = _frozen_json(item, f"{where}[{key!r}]", depth + 1)
        return MappingProxyType(frozen)
    if isinstance(value, (list, tuple)):
        return tuple(
            _frozen_json(item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value)
        )
    raise TypeError(f"{where} is a {_type_name(value)}, which is not JSON-compatible")


def _check_int_converts(value: int, where: str) -> None:
    try:
        str(value)
    except ValueError:
        raise ValueError(
            f"{where} is an int too long to write as text (Python's int-to-text digit limit)"
        ) from None
