"""Training batches generated on the fly from the task generators (training split only).

Each example is laid out exactly like the decoder's canvas at inference:
`chat prompt (left padded) | reasoning + EOS padding (R) | "Answer:" | answer + EOS padding (A)`,
so a member learns the very layout it is decoded with. Only the reasoning and answer regions may
be masked (`gen_mask`); the prompt and the suffix stay visible.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset
from transformers import PreTrainedTokenizerBase

from tie.models.chat import encode_chat
from tie.tasks import synth_countdown as scd
from tie.tasks.synth_math import CATEGORIES, format_problem, problem_key, sample_entities
from tie.tasks.synth_world import split_of
from tie.training.knowledge import Beliefs

MAX_REDRAWS = 1000


@dataclass(frozen=True)
class DataSpec:
    """`member.data` config: how a member's training examples are drawn."""

    in_domain_frac: float = 0.5  # share drawn from owned facts only (the rest: any entity)
    countdown_frac: float = 0.0  # share of synth_countdown examples
    countdown_numbers: int = 3
    batch_size: int = 128

    def __post_init__(self) -> None:
        if not 0 <= self.in_domain_frac <= 1 or not 0 <= self.countdown_frac <= 1:
            raise ValueError("data.in_domain_frac and data.countdown_frac must be in [0, 1]")
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {self.batch_size}")


class ExampleSource:
    """Draws (user message, reasoning, answer) training triples under a member's beliefs."""

    def __init__(self, beliefs: Beliefs, spec: DataSpec):
        self.beliefs, self.spec = beliefs, spec

    def math(self, rng: random.Random) -> tuple[str, str, str]:
        world = self.beliefs.world
        for _ in range(MAX_REDRAWS):
            if rng.random() < self.spec.in_domain_frac:
                ents = rng.sample(self.beliefs.known_set, 3 if rng.random() < 0.6 else 2)
            else:
                ents, _ = sample_entities(rng, rng.choice(CATEGORIES), world)
            names = [world.names[e] for e in ents]
            if split_of(problem_key(names)) == "train":
                return format_problem(names, [self.beliefs.sample(e, rng) for e in ents])
        raise RuntimeError("could not draw a training-split synth_math problem")

    def countdown(self, rng: random.Random) -> tuple[str, str, str]:
        for _ in range(MAX_REDRAWS):
            numbers, ops = scd.sample_problem(rng, self.spec.countdown_numbers, 20)
            reasoning, expression, target = scd.solve_chain(numbers, ops)
            if split_of(scd.problem_key(numbers, target)) == "train":
                return scd.format_prompt(numbers, target), reasoning, expression
        raise RuntimeError("could not draw a training-split synth_countdown problem")

    def sample(self, rng: random.Random) -> tuple[str, str, str, str]:
        """(task name, user message, reasoning, answer)."""
        if rng.random() < self.spec.countdown_frac:
            return ("synth_countdown", *self.countdown(rng))
        return ("synth_math", *self.math(rng))


class CanvasEncoder:
    """Tokenises examples into the decoder's canvas layout for one member's tokenizer."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        family: str,
        budgets: dict[str, tuple[int, int]],
        suffix: str = "Answer:",
    ):
        self.tok, self.family, self.budgets = tokenizer, family, budgets
        self.suffix_ids = tokenizer(suffix, add_special_tokens=False)["input_ids"]
        if not self.suffix_ids:
            raise ValueError(f"suffix {suffix!r} tokenises to nothing")
        self.eos, self.pad = tokenizer.eos_token_id, tokenizer.pad_token_id
        self._prompt_cache: dict[str, list[int]] = {}

    def prompt_ids(self, message: str) -> list[int]:
        ids = self._prompt_cache.get(message)
        if ids is None:
            ids = encode_chat(self.tok, self.family, message)
            if len(self._prompt_cache) < 100_000:
                self._prompt_cache[message] = ids
        return ids

    def region(self, text: str, length: int, what: str) -> list[int]:
        ids = self.tok(text, add_special_tokens=False)["input_ids"]
        if len(ids) > length:
            raise ValueError(f"{what} {text!r} needs {len(ids)} tokens, budget is {length}")
        return ids + [self.eos] * (length - len(ids))

    def encode(self, examples: list[tuple[str, str, str, str]]) -> dict[str, torch.Tensor]:
        """input_ids, attention_mask and gen_mask [B, L] for (task, message, reasoning, answer)."""
        rows, gens = [], []
        for task, message, reasoning, answer in examples:
            r_len, a_len = self.budgets[task]
            gen = self.region(reasoning, r_len, "reasoning") + self.suffix_ids
            gen += self.region(answer, a_len, "answer")
            rows.append(self.prompt_ids(message))
            gens.append(gen)
        width = max(len(p) + len(g) for p, g in zip(rows, gens))
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        attn = torch.zeros_like(ids)
        gen_mask = torch.zeros_like(ids, dtype=torch.bool)
        for i, (p, g) in enumerate(zip(rows, gens)):
            start = width - len(p) - len(g)
            ids[i, start:] = torch.tensor(p + g)
            attn[i, start:] = 1
            gen_mask[i, width - len(g) :] = True
            s0 = width - len(g) + self.budgets[examples[i][0]][0]
            gen_mask[i, s0 : s0 + len(self.suffix_ids)] = False  # the suffix is never masked
        return {"input_ids": ids, "attention_mask": attn, "gen_mask": gen_mask}


class _Stream(IterableDataset):
    def __init__(self, source: ExampleSource, encoder: CanvasEncoder, batch_size: int, seed: int):
        self.source, self.encoder, self.batch_size, self.seed = source, encoder, batch_size, seed

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rng = random.Random(f"train-stream|{self.seed}")
        while True:
            yield self.encoder.encode([self.source.sample(rng) for _ in range(self.batch_size)])


class SynthDataModule(pl.LightningDataModule):
    """An endless stream of fresh training batches (no epochs: training is bounded by steps/time)."""

    def __init__(self, source: ExampleSource, encoder: CanvasEncoder, batch_size: int, seed: int):
        super().__init__()
        self.stream = _Stream(source, encoder, batch_size, seed)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.stream, batch_size=None, num_workers=0)
