"""What one zoo member believes about the fact world: the knowledge it is trained on.

A member owns some private groups and the common facts, but imperfectly, so that confidence is
informative without being a free oracle:
* `wrong`: a few common facts it holds a consistent wrong value for (confidently wrong);
* `noisy`: some owned facts trained with label noise (right on average, less sure);
* `unknown`: every fact it does not own gets a fresh random value per training example
  ("calibrated ignorance": it sees every entity name and learns that it does not know).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tie.tasks.synth_world import N_GROUPS, VALUE_MAX, VALUE_MIN, World, get_world

KINDS = ("known", "wrong", "noisy", "unknown")


@dataclass(frozen=True)
class KnowledgeSpec:
    """Config of a member's knowledge (`member.knowledge` in conf/member/*.yaml)."""

    groups: tuple[int, ...]  # private groups owned
    slot: int = 0  # which disjoint slice of the common facts this member holds wrong
    wrong_common: int = 1  # number of common facts held with a wrong value
    noisy_frac: float = 0.25  # share of owned private facts trained with label noise
    noise_p: float = 0.35  # probability a noisy fact's label is replaced by a random value
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.groups or any(not 0 <= g < N_GROUPS for g in self.groups):
            raise ValueError(f"knowledge.groups must be non-empty, each in [0, {N_GROUPS})")
        if not 0 <= self.noisy_frac <= 1 or not 0 <= self.noise_p <= 1:
            raise ValueError("knowledge.noisy_frac and knowledge.noise_p must be in [0, 1]")
        if self.wrong_common < 0 or self.slot < 0:
            raise ValueError("knowledge.wrong_common and knowledge.slot must be >= 0")


@dataclass
class Beliefs:
    """Per-entity belief kind and believed value (for `known`/`wrong`/`noisy`)."""

    world: World
    kind: list[str]
    value: list[int]
    noise_p: float
    known_set: list[int] = field(default_factory=list)  # owned entities (any kind but unknown)

    def sample(self, entity: int, rng: random.Random) -> int:
        """A training label for the entity's value under this member's beliefs."""
        kind = self.kind[entity]
        if kind == "unknown" or (kind == "noisy" and rng.random() < self.noise_p):
            return rng.randint(VALUE_MIN, VALUE_MAX)
        return self.value[entity]


def build_beliefs(spec: KnowledgeSpec, world: World | None = None) -> Beliefs:
    """Deterministic beliefs from the spec (members with different `slot`s err on different facts)."""
    world = world or get_world()
    rng = random.Random(f"knowledge|{spec.seed}")
    kind = ["unknown"] * world.n
    value = list(world.values)
    common = world.common()
    order = random.Random("common-wrong-order").sample(common, len(common))  # shared across members
    wrong = set(order[spec.slot * spec.wrong_common : (spec.slot + 1) * spec.wrong_common])
    for e in common:
        kind[e] = "known"
    for e in wrong:
        kind[e] = "wrong"
        value[e] = rng.choice([v for v in range(VALUE_MIN, VALUE_MAX + 1) if v != world.values[e]])
    for g in spec.groups:
        private = world.private(g)
        noisy = set(rng.sample(private, round(spec.noisy_frac * len(private))))
        for e in private:
            kind[e] = "noisy" if e in noisy else "known"
    known_set = [e for e in range(world.n) if kind[e] != "unknown"]
    return Beliefs(world=world, kind=kind, value=value, noise_p=spec.noise_p, known_set=known_set)
