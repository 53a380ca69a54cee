"""How much work each benchmark does, in a full run and in a quick one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Jobs, cycles and repeats for every benchmark."""

    noop_jobs: int
    monitored_jobs: int
    failing_jobs: int
    store_cycles: int
    small_store: int
    large_store: int
    memory_jobs: int
    scaling_samples: int
    step_jobs: int
    ingredient_calls: int
    repeats: int
    process_jobs: int
    process_repeats: int
    pickup_jobs: int
    scale_cycles: int


FULL = Sizes(
    noop_jobs=20_000,
    monitored_jobs=10_000,
    failing_jobs=4_000,
    store_cycles=50_000,
    small_store=10_000,
    large_store=1_000_000,
    memory_jobs=1_000_000,
    scaling_samples=30,
    step_jobs=20_000,
    ingredient_calls=200_000,
    repeats=5,
    process_jobs=500,
    process_repeats=3,
    pickup_jobs=100,
    scale_cycles=500,
)
QUICK = Sizes(
    noop_jobs=200,
    monitored_jobs=200,
    failing_jobs=100,
    store_cycles=1_000,
    small_store=1_000,
    large_store=10_000,
    memory_jobs=10_000,
    scaling_samples=3,
    step_jobs=200,
    ingredient_calls=2_000,
    repeats=2,
    process_jobs=20,
    process_repeats=1,
    pickup_jobs=3,
    scale_cycles=20,
)
