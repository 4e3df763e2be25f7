"""The fixed fact world of the synthetic testbed and its train/dev/test problem split.

Facts (entity -> value) are world constants, like the knowledge a real LM is pretrained on: every
problem draws on them, and zoo members own different parts of them. What is split between training
and evaluation is the *problem* (the ordered tuple of entities, or the Countdown instance), by a
stable hash, so a problem generated for evaluation can never appear in training data.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cache

SPLITS = ("train", "dev", "test")
WORLD_SEED = 20261123  # a constant: the facts never change with a task's seed
N_GROUPS = 3  # private knowledge groups, one per zoo member in the default zoo
N_COMMON = 16  # facts every member is meant to know (each member holds one wrong)
N_PRIVATE = 12  # facts per private group
VALUE_MIN, VALUE_MAX = 1, 20  # fact values; sums of three stay two digits
NAME_DIGITS = 3  # entity names are "e" + 3 digits: 4 characters, fixed width


@dataclass(frozen=True)
class World:
    """Entity names, their true values and which group (None = common) each belongs to."""

    names: tuple[str, ...]
    values: tuple[int, ...]
    group: tuple[int | None, ...]

    @property
    def n(self) -> int:
        return len(self.names)

    def common(self) -> list[int]:
        return [i for i, g in enumerate(self.group) if g is None]

    def private(self, g: int) -> list[int]:
        if not 0 <= g < N_GROUPS:
            raise ValueError(f"group must be in [0, {N_GROUPS}), got {g}")
        return [i for i, gg in enumerate(self.group) if gg == g]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown entity {name!r}") from None


@cache
def get_world() -> World:
    """The one world (deterministic; random-looking names so ownership is not readable from them)."""
    rng = random.Random(WORLD_SEED)
    n = N_COMMON + N_GROUPS * N_PRIVATE
    ids = rng.sample(range(10**NAME_DIGITS), n)
    names = tuple(f"e{i:0{NAME_DIGITS}d}" for i in ids)
    values = tuple(rng.randint(VALUE_MIN, VALUE_MAX) for _ in range(n))
    groups: list[int | None] = [None] * N_COMMON
    for g in range(N_GROUPS):
        groups += [g] * N_PRIVATE
    order = list(range(n))
    rng.shuffle(order)  # interleave groups so list position does not reveal the group either
    return World(
        names=tuple(names[i] for i in order),
        values=tuple(values[i] for i in order),
        group=tuple(groups[i] for i in order),
    )


def split_of(key: str) -> str:
    """The split a problem key belongs to: 70% train, 15% dev, 15% test (stable hash)."""
    bucket = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % 100
    if bucket < 70:
        return "train"
    return "dev" if bucket < 85 else "test"


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def check_seed_n(seed: object, n: object) -> None:
    """Validate the common `seed`/`n` options before generating anything."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
