"""Tie rules: who leads when several trajectories share the round's best score.

A rule narrows `top` [M, B] (the tied models of each row) and returns it; model order decides
what is left. `key` names the per-trajectory tie key the loop passes (`Trajectory.own_top1`: the
mean answer top-1 of its last step, TIE_SPEC; `tracked_top1`: the same mean over the positions its
change count reads); `traced` rules write that key to the rounds trace (`tie_key`).
"""

from __future__ import annotations

import torch

from tie.ensemble.registry import register_tie_rule
from tie.ensemble.scoring import TIE_ATOL


def _by_key(name: str, top: torch.Tensor, key: torch.Tensor | None) -> torch.Tensor:
    if key is None:
        raise ValueError(f"tie_break={name!r} needs the models' own mean answer top-1")
    k = torch.where(
        top, key.to(torch.float64), torch.full(top.shape, -torch.inf, device=top.device)
    )
    return top & (k >= k.max(dim=0, keepdim=True).values - TIE_ATOL)


@register_tie_rule("own_top1", key="own_top1", traced=True)
def own_top1(top, key, incumbent, generator) -> torch.Tensor:
    """The trajectory with the higher mean answer top-1 (TIE_SPEC)."""
    return _by_key("own_top1", top, key)


@register_tie_rule("tracked_top1", key="tracked_top1", traced=True, status="experimental")
def tracked_top1(top, key, incumbent, generator) -> torch.Tensor:
    """The higher mean top-1 over the positions the change count reads (the block too under
    change_positions=answer_and_block)."""
    return _by_key("tracked_top1", top, key)


@register_tie_rule("incumbent", key="own_top1", traced=False, status="experimental")
def incumbent(top, key, incumbent, generator) -> torch.Tensor:
    """Keep the previous round's leader when it is among the tied (a tie is no evidence for
    handing the canvas over), else own_top1."""
    if incumbent is None:
        raise ValueError("tie_break='incumbent' needs the previous round's leaders")
    rows = torch.arange(top.shape[1], device=top.device)
    inc = incumbent.to(top.device)
    keep = (inc >= 0) & top[inc.clamp(min=0), rows]
    only = torch.zeros_like(top)
    only[inc.clamp(min=0), rows] = True
    return _by_key("own_top1", torch.where(keep.unsqueeze(0), only, top), key)


@register_tie_rule("model_order", key=None, traced=False)
def model_order(top, key, incumbent, generator) -> torch.Tensor:
    """The first tied model in constituent order."""
    return top


@register_tie_rule("random", key=None, traced=False)
def random(top, key, incumbent, generator) -> torch.Tensor:
    """A uniform draw among the tied (seeded by tie_break_seed)."""
    noise = torch.rand(top.shape, generator=generator, dtype=torch.float64)
    k = torch.where(top, noise, torch.full_like(noise, -1.0))
    return k == k.max(dim=0, keepdim=True).values
