"""Shared helpers for the decoding tests: scripted backends and left-padded batches."""

from __future__ import annotations

import pytest
import torch

from tie.models.scripted import ScriptedBackend, make_scripted_backend

torch.set_num_threads(1)


@pytest.fixture
def backend() -> ScriptedBackend:
    return make_scripted_backend("a", seed=0)


def random_prompts(backend: ScriptedBackend, lengths: list[int], seed: int = 0) -> list[list[int]]:
    """Prompts of ordinary character ids (never a special id)."""
    g = torch.Generator().manual_seed(seed)
    lo = 5  # variant "a": ids 0-4 are specials
    return [torch.randint(lo, backend.vocab_size, (n,), generator=g).tolist() for n in lengths]


def left_pad(prompts: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    am = torch.zeros_like(ids)
    for r, p in enumerate(prompts):
        ids[r, width - len(p) :] = torch.tensor(p)
        am[r, width - len(p) :] = 1
    return ids, am


def fixed_probs_backend(rows: list[list[tuple[int, float]]], offset: int, vocab: int = 101):
    """Backend whose logits at canvas position `offset + j` of row r put probability p on token t
    for `rows[r][j] = (t, p)` and spread the rest evenly (fixed confidence vectors)."""
    b, n = len(rows), len(rows[0])
    table = torch.zeros(b, n, vocab)
    for r, row in enumerate(rows):
        for j, (tok, p) in enumerate(row):
            rest = (1 - p) / (vocab - 2)  # mask id gets (almost) nothing
            probs = torch.full((vocab,), rest)
            probs[tok] = p
            probs[3] = 1e-12
            table[r, j] = probs.log()

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*input_ids.shape, vocab)
        out[:, offset : offset + n] = table[: input_ids.shape[0]]
        return out

    return ScriptedBackend(fn, name="fixed")
