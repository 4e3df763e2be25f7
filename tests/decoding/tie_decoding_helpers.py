"""Shared helpers for the decoding tests (a uniquely named module: no import clash across folders)."""

from __future__ import annotations

import torch
from fakes import ScriptedBackend

torch.set_num_threads(1)


def random_prompts(backend: ScriptedBackend, lengths: list[int], seed: int = 0) -> list[list[int]]:
    """Prompts of ordinary character ids (never a special id)."""
    g = torch.Generator().manual_seed(seed)
    lo = 5  # variant "a": ids 0-4 are specials
    return [torch.randint(lo, backend.vocab_size, (n,), generator=g).tolist() for n in lengths]


def probs_backend(probs: torch.Tensor, offset: int) -> ScriptedBackend:
    """Backend whose distribution at canvas position `offset + j` of row r is `probs[r, j]`
    (every step; other positions get uniform logits): fixed confidence vectors."""
    table = probs.clamp(min=1e-30).log()

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*input_ids.shape, table.shape[-1])
        out[:, offset : offset + table.shape[1]] = table[: input_ids.shape[0]]
        return out

    return ScriptedBackend(fn, name="fixed-probs")


def peaked(rows: list[list[tuple[int, float]]], vocab: int = 101) -> torch.Tensor:
    """probs[r, j]: probability p on token t for rows[r][j] = (t, p), the rest spread evenly
    (the mask id 3 gets nothing)."""
    out = torch.zeros(len(rows), len(rows[0]), vocab)
    for r, row in enumerate(rows):
        for j, (tok, p) in enumerate(row):
            out[r, j] = (1 - p) / (vocab - 2)
            out[r, j, 3] = 0.0
            out[r, j, tok] = p
    return out
