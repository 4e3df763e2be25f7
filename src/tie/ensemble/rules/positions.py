"""Change positions: which canvas positions the token change count reads (relay score and final
selection alike), and the tie key over those positions.

`answer`: A(t), the masked answer positions (TIE_SPEC). `answer_and_block` [experimental]: A(t)
plus the masked reasoning positions of the block being written, so a member that wavers over what
it is writing now also counts as less reliable. A rule turns one step's signals into a `Read`:
the top-1 at its `width(layout)` positions and which of them it tracks this step; `block` says it
needs the decoder's current-block signals (`StepSignals.block_*`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from tie.ensemble.registry import register_change_positions
from tie.ensemble.scoring import masked_mean


class Read(NamedTuple):
    top1: torch.Tensor  # [B, W] the top-1 (the token where committed) at the rule's positions
    tracked: torch.Tensor  # [B, W] bool: the positions this step's change count reads
    p1: torch.Tensor | None = None  # [B, W] top-1 probability at the read masks (NaN elsewhere)


@register_change_positions("answer")
class AnswerPositions:
    """A(t) (the paper)."""

    block = False

    def width(self, layout: Any) -> int:
        return int(layout.answer_len)

    def read(self, s: Any, x: torch.Tensor, layout: Any, mask_id: int) -> Read:
        return Read(s.answer_top1, s.in_A.bool())

    def tie_key(self, read: Read, answer_top1: torch.Tensor) -> torch.Tensor:
        return answer_top1

    def trace(self, read: Read) -> dict[str, list] | None:
        return None


@register_change_positions("answer_and_block", status="experimental")
class AnswerAndBlockPositions:
    """A(t) plus the masked reasoning positions of each row's current block, laid out over the
    generation region [B, G] (the trace's `gen_top1` / `gen_in`)."""

    block = True

    def width(self, layout: Any) -> int:
        return int(layout.gen_len)

    def read(self, s: Any, x: torch.Tensor, layout: Any, mask_id: int) -> Read:
        """From the step's block and answer signals and the canvas `x` after the step.

        top1: the top-1 over the block and the answer (committed tokens where committed); masked
        positions beyond them keep the mask id, and no change count compares them: a later step
        compares only what this one tracked, which is then in its own block or answer or
        committed. p1: the top-1 probability at the block's and the answer's masks.
        """
        g0 = layout.gen_start
        a0, a1 = layout.answer
        before = torch.where(s.committed.bool(), mask_id, x)  # the canvas the step read
        answer_pos = torch.arange(a0, a1, device=x.device).expand(x.shape[0], -1)
        # a short last block repeats its clamped last slot: the same position, the same values
        pos = torch.cat([s.block_pos, answer_pos], dim=1) - g0
        masked = torch.cat([s.block_x, before[:, a0:a1]], dim=1) == mask_id
        p1 = torch.cat([s.block_p1, s.top1_prob.to(s.block_p1.dtype)], dim=1)
        gen = before[:, g0 : g0 + layout.gen_len].clone()
        gen.scatter_(1, pos, torch.cat([s.block_top1, s.answer_top1], dim=1))
        gen_p1 = torch.full(gen.shape, float("nan"), device=gen.device)
        gen_p1.scatter_(1, pos, torch.where(masked, p1, float("nan")))
        block = s.block_open & (s.block_pos < a0) if layout.answer_len else s.block_open
        hits = torch.zeros(gen.shape, dtype=torch.long, device=gen.device)  # add: clamped repeats
        tracked = hits.scatter_add_(1, s.block_pos - g0, block.long()) > 0
        tracked[:, a0 - g0 :] |= s.in_A.bool()
        return Read(gen, tracked, gen_p1)

    def tie_key(self, read: Read, answer_top1: torch.Tensor) -> torch.Tensor:
        """Mean top-1 over the tracked positions; a row tracking none keeps the answer's."""
        mean = masked_mean(read.p1.nan_to_num(0.0), read.tracked).to(answer_top1.device)
        return torch.where(read.tracked.any(1).to(mean.device), mean, answer_top1)

    def trace(self, read: Read) -> dict[str, list] | None:
        return {"gen_top1": read.top1.cpu().tolist(), "gen_in": read.tracked.cpu().tolist()}
