"""`synth_math`: multi-step sums over entity facts, the default TIE testbed task.

A problem names k entities (`e123+e456+e789=`); the worked chain first recalls each fact, one per
fixed-width 8-character slot (`e123=07;`), then adds them up (`07+12=19;19+03=22;`); after the
`Answer:` suffix comes the two-digit answer (`22`). Fixed widths put fact j in reasoning block j
(block length 8), so with a relay interval of one block each fact is written in its own interval.

Knowledge is split by the fact world (`synth_world`): common facts and three private groups.
Categories say whose knowledge a problem needs: `common` (common facts only), `single` (one
private group), `mixed2` / `mixed3` (private facts of two / three groups: no single member owning
one group can solve them, only a relay that hands each fact slot to its owner). `mix` picks the
category proportions: `default`, `single_owner` (the control: every problem has one competent
owner, so relay should add nothing beyond selection), `mixed_only`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where rows are built: the config check stays light
    import datasets

from tie.tasks.base import CanvasBudget, Task
from tie.tasks.grading import extract_final_number, numeric_match
from tie.tasks.synth_world import (
    N_GROUPS,
    World,
    check_seed_n,
    check_split,
    get_world,
    split_of,
)

CATEGORIES = ("common", "single", "mixed2", "mixed3")
MIXES: dict[str, dict[str, float]] = {
    "default": {"common": 0.35, "single": 0.3, "mixed2": 0.2, "mixed3": 0.15},
    "single_owner": {"common": 0.5, "single": 0.5},
    "mixed_only": {"mixed2": 0.6, "mixed3": 0.4},
}
P_THREE_FACTS = 0.6  # share of 3-fact problems where a category allows 2 or 3 facts
ANSWER_WIDTH = 2
REASONING_LEN = 48  # longest chain is 3*8 + 2*9 = 42 characters; 6 blocks of 8
ANSWER_LEN = ANSWER_WIDTH
MAX_TRIES_PER_ROW = 2000


def format_problem(names: Sequence[str], values: Sequence[int]) -> tuple[str, str, str]:
    """(user message, reasoning chain, answer text) for facts `names[i] = values[i]`."""
    if len(names) != len(values) or len(names) < 2:
        raise ValueError("need at least two facts, one value per name")
    prompt = "+".join(names) + "="
    parts = [f"{name}={value:02d};" for name, value in zip(names, values)]
    total = values[0]
    for value in values[1:]:
        parts.append(f"{total:02d}+{value:02d}={total + value:02d};")
        total += value
    return prompt, "".join(parts), f"{total:0{ANSWER_WIDTH}d}"


def sample_entities(rng: random.Random, category: str, world: World) -> tuple[list[int], str]:
    """Distinct entity indices for one problem of `category`, and the groups it needs ("0+2")."""
    if category == "mixed3":
        groups = rng.sample(range(N_GROUPS), 3)
        ents = [rng.choice(world.private(g)) for g in groups]
        return ents, "+".join(str(g) for g in sorted(groups))
    k = 3 if rng.random() < P_THREE_FACTS else 2
    if category == "common":
        return rng.sample(world.common(), k), "common"
    if category == "single":
        g = rng.randrange(N_GROUPS)
        return rng.sample(world.private(g), k), str(g)
    if category == "mixed2":
        groups = rng.sample(range(N_GROUPS), 2)
        slots = groups + [rng.choice(groups)] * (k - 2)
        rng.shuffle(slots)
        ents: list[int] = []
        for g in slots:
            ents.append(rng.choice([e for e in world.private(g) if e not in ents]))
        return ents, "+".join(str(g) for g in sorted(groups))
    raise ValueError(f"unknown synth_math category {category!r}; known: {CATEGORIES}")


def problem_key(names: Sequence[str]) -> str:
    return "synth_math|" + "+".join(names)


class SynthMathTask(Task):
    """Options: `seed`, `n`, `split` ("test" default, "dev" for tuning), `mix` (see module doc)."""

    name = "synth_math"
    answer_suffix = "Answer:"
    budget = CanvasBudget(reasoning_len=REASONING_LEN, answer_len=ANSWER_LEN)

    def __init__(self, seed: int = 0, n: int = 500, split: str = "test", mix: str = "default"):
        check_seed_n(seed, n)
        self.split = check_split(split)
        if mix not in MIXES:
            raise ValueError(f"unknown synth_math mix {mix!r}; known: {sorted(MIXES)}")
        if split == "train":
            raise ValueError(
                "split='train' is for the zoo trainer only; evaluate on 'test' or 'dev'"
            )
        self.seed, self.n, self.mix = seed, n, mix

    def load(self) -> datasets.Dataset:
        import datasets

        return datasets.Dataset.from_list(self.rows())

    def rows(self) -> list[dict[str, Any]]:
        world = get_world()
        rng = random.Random(f"synth_math|{self.split}|{self.mix}|{self.seed}")
        cats, weights = zip(*MIXES[self.mix].items())
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        tries = 0
        while len(rows) < self.n:
            category = rng.choices(cats, weights)[0]
            while True:  # redraw within the category so the realised mix matches `mix`
                tries += 1
                if tries > MAX_TRIES_PER_ROW * self.n:
                    raise ValueError(
                        f"cannot draw {self.n} distinct {self.split} problems; lower n"
                    )
                ents, owners = sample_entities(rng, category, world)
                names = [world.names[e] for e in ents]
                key = problem_key(names)
                if key not in seen and split_of(key) == self.split:
                    break
            seen.add(key)
            prompt, reasoning, answer = format_problem(names, [world.values[e] for e in ents])
            rows.append(
                {
                    "id": f"synth_math-{self.split}-{self.seed}-{len(rows):05d}",
                    "prompt": prompt,
                    "reasoning": reasoning,
                    "answer": answer,
                    "gold": str(int(answer)),
                    "category": category,
                    "owners": owners,
                    "k": len(names),
                }
            )
        return rows

    def build_prompt(self, row: dict[str, Any]) -> str:
        return row["prompt"]

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        return extract_final_number(answer_text)

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        return numeric_match(extracted, row["gold"])
