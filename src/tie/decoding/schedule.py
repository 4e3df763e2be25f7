"""Commit-count schedules: how many tokens a block commits at each of its steps.

LLaDA: the quota is fixed at block start from the n masks in the block over its `spb` steps,
n // spb per step with the remainder front-loaded ((10, 4) -> [3, 3, 2, 2]; zero-quota steps when
spb > n). Dream: a linear timestep grid t = linspace(1, eps, spb + 1); step i commits
int(M * (1 - t[i+1] / t[i])) of the M masks still present (float32, like the reference), and the
last step flushes the rest. Dream's reference uses the batch-mean mask count; we use each row's
own count so rows stay independent (identical when rows have equal counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from tie.decoding.config import DecodeConfig, DecodeInputError


@dataclass(frozen=True)
class BlockPlan:
    """Blocks tiling the generation region [start, start + gen_len)."""

    start: int
    gen_len: int
    block_length: int
    num_blocks: int
    steps_per_block: int | None  # None: one token per step (spb = masks at block start)


def plan_blocks(gen_len: int, start: int, config: DecodeConfig) -> BlockPlan:
    """Validate lengths against the block length and steps (raises DecodeInputError)."""
    bl = config.block_length
    if gen_len < 1:
        raise DecodeInputError(f"generation region is empty (gen length {gen_len})")
    if config.rounding == "strict":
        if gen_len % bl:
            raise DecodeInputError(
                f"generation length {gen_len} (reasoning + suffix + answer) is not divisible by "
                f"block_length {bl}; change the lengths or set rounding='ceil'"
            )
        nb = gen_len // bl
        if config.steps is not None and config.steps % nb:
            raise DecodeInputError(
                f"steps {config.steps} is not divisible by the number of blocks {nb} "
                f"(gen length {gen_len} / block_length {bl}); change steps or set rounding='ceil'"
            )
        spb = None if config.steps is None else config.steps // nb
    else:
        nb = math.ceil(gen_len / bl)
        spb = None if config.steps is None else math.ceil(config.steps / nb)
    return BlockPlan(start, gen_len, bl, nb, spb)


def llada_quota(n: torch.Tensor, spb: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    """Tokens to commit at step i (0-based) of a block with n masks over spb steps; 0 past spb."""
    base, rem = n // spb, n % spb
    return torch.where(i < spb, base + (i < rem).long(), torch.zeros_like(n))


def llada_schedule(n: int, spb: int) -> list[int]:
    """The whole LLaDA quota list for one block (for tables and tests)."""
    t = torch.full((spb,), n, dtype=torch.long)
    return llada_quota(t, torch.full_like(t, spb), torch.arange(spb)).tolist()


@lru_cache(maxsize=256)
def _timesteps(spb: int, eps: float) -> torch.Tensor:
    return torch.linspace(1, eps, spb + 1)


def dream_quota(
    remaining: torch.Tensor, spb: torch.Tensor, i: torch.Tensor, eps: float
) -> torch.Tensor:
    """Dream's count for step i given the masks still present; the last step (and later) flushes."""
    ratio = torch.zeros(remaining.shape, dtype=torch.float32)
    for s in spb.unique().tolist():  # a handful of distinct block lengths, not rows
        ts = _timesteps(int(s), eps)
        rows = (spb == s) & (i < s - 1)
        if rows.any():
            idx = i[rows].cpu()
            ratio[rows.cpu()] = 1 - ts[idx + 1] / ts[idx]
    n = (remaining.float().cpu() * ratio).long().to(remaining.device)
    return torch.where(i >= spb - 1, remaining, n)


def dream_transfer_prob(spb: torch.Tensor, i: torch.Tensor, eps: float) -> torch.Tensor:
    """Dream `origin`: each masked position commits at step i with probability 1 - t[i+1] / t[i]
    (float32, like the reference); the last step (and any later one) commits every one."""
    p = torch.ones(spb.shape, dtype=torch.float32)
    for s in spb.unique().tolist():
        ts = _timesteps(int(s), eps)
        rows = (spb == s) & (i < s - 1)
        if rows.any():
            idx = i[rows].cpu()
            p[rows.cpu()] = 1 - ts[idx + 1] / ts[idx]
    return p


def dream_schedule(n: int, steps: int, eps: float = 1e-3) -> list[int]:
    """Counts Dream commits per step for n masks when every count can be honoured."""
    out, left = [], n
    for i in range(steps):
        q = int(dream_quota(torch.tensor([left]), torch.tensor([steps]), torch.tensor([i]), eps))
        out.append(q)
        left -= q
    return out
