"""Interleaved repeats: every system once per repeat, in an order that rotates.

Measuring all of one system and then all of another lets a burst of outside load land on one
of them only. Taking turns within each repeat, each turn in a fresh process, and starting each
repeat one system further along, spreads the machine's moods over every system; a ratio taken
within one repeat compares runs made seconds apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .lean import Children
from .timing import median

T = TypeVar("T")


@dataclass(frozen=True)
class Contender:
    """One system in a comparison: which benchmark function measures it, with what arguments."""

    name: str
    module: str
    function: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    allow_heavy: bool = False


def rotated(items: Sequence[T], shift: int) -> list[T]:
    """``items`` starting ``shift`` places along, wrapping round."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def interleaved(
    children: Children, contenders: Sequence[Contender], repeats: int
) -> dict[str, list[Any]]:
    """Each contender's results, one per repeat, measured taking turns in rotating order."""
    results: dict[str, list[Any]] = {contender.name: [] for contender in contenders}
    for repeat in range(repeats):
        for contender in rotated(contenders, repeat):
            results[contender.name].append(
                children.run(
                    contender.module,
                    contender.function,
                    allow_heavy=contender.allow_heavy,
                    **contender.arguments,
                )
            )
    return results


@dataclass(frozen=True)
class Ratio:
    """The median of per-repeat ratios, with the lowest and highest to show the spread."""

    median: float
    low: float
    high: float

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{self.median:.2f}x"
        return f"{self.median:.2f}x ({self.low:.2f}-{self.high:.2f})"


def per_repeat_ratio(ours: Sequence[T], peer: Sequence[T], value: Callable[[T], float]) -> Ratio:
    """``value(ours) / value(peer)`` within each repeat, summarised."""
    ratios = [value(o) / value(p) for o, p in zip(ours, peer, strict=True)]
    return Ratio(median(ratios), min(ratios), max(ratios))
