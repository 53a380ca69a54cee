"""What every exercise check shares: trying the learner's code, and saying what is wrong.

A problem is one plain-English string. Problems end up in a notebook's stored output, so they
never show a memory address, a time or anything else that changes from run to run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..checks import find_violations
from ..domain import Job
from ..stores.memory import InMemoryJobStore

Problems = list[str]

SOLVED = "Solved: every check passed."
NOT_SOLVED = "Not solved yet:"


def report(problems: Sequence[str], *, solved: str = SOLVED) -> None:
    """Print the verdict of a check: "Solved: ..." or "Not solved yet:" and each problem."""
    if not problems:
        print(solved)
        return
    print(NOT_SOLVED)
    for problem in problems:
        print(f"  - {problem}")


def attempt(
    function: Callable[..., Any],
    *args: Any,
    call: str | None = None,
    hints: Mapping[type[Exception], str] | None = None,
) -> tuple[Any, str | None]:
    """Call the learner's ``function``: ``(result, None)``, or ``(None, problem)`` if it raised.

    ``call`` is how the notebook writes the call (``"sweep(store, enqueue)"``); without it the
    problem shows the arguments briefly. ``hints`` adds a line of advice for the exceptions a
    learner is likely to meet, by exception type.
    """
    name = getattr(function, "__name__", None) or (call or "your function").split("(")[0]
    if not callable(function):
        return None, f"{name} is not a function (it is a {type(function).__name__})"
    try:
        return function(*args), None
    except Exception as exc:
        shown = call or f"{name}({', '.join(described(arg) for arg in args)})"
        problem = f"{shown} raised {type(exc).__name__}: {exc}"
        hint = next((text for kind, text in (hints or {}).items() if isinstance(exc, kind)), None)
        return None, problem if hint is None else f"{problem}. Hint: {hint}"


def described(value: Any) -> str:
    """A brief description of a value for a problem message, the same on every run."""
    if isinstance(value, Job):
        return f"<{value.type} job {value.id}>"
    if isinstance(value, InMemoryJobStore):
        return "store"
    if callable(value):
        return f"<function {getattr(value, '__name__', type(value).__name__)}>"
    shown = repr(value)
    return f"<{type(value).__name__}>" if " at 0x" in shown else shown


def wrong_claim(status: str, answer: object, after: object, expected: bool) -> str:
    """What a claim of a job that was ``status`` did wrong: it should have returned ``expected``
    (whether the job was free to claim) and left the job processing, or left it as it was."""
    wanted = "processing" if expected else status
    return (
        f"claiming a {status} job returned {answer!r} and left it {after}; "
        f"it should return {expected} and leave it {wanted}"
    )


def limited(problems: Problems, most: int = 4) -> Problems:
    """The first ``most`` problems, and a line saying how many more there were."""
    if len(problems) <= most:
        return problems
    return [*problems[:most], f"... and {len(problems) - most} more like these"]


def broken_rules(store: InMemoryJobStore) -> Problems:
    """Every invariant the run in ``store`` broke, one problem each (none for a good run)."""
    found = find_violations(store.list_jobs(), store.transitions())
    return [f"{v.invariant}: {v.job_id} {v.detail}" for v in found]
