"""Answer-region signals for tracing and TIE scoring, computed from one forward's logits.

Only the answer positions are softmaxed. For positions already committed `answer_top1` is the
committed token; probabilities are still the model's. Rows that did not step (`active` False)
get NaN statistics, `in_A` False and their current tokens as `answer_top1`.

On request (`block=True`) the signals also describe each row's current block (the semi-AR block
its first masked position is in): its positions, its tokens before the step, which of them were
open (masked) and the top-1 with its probability there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class StepSignals:
    answer_top1: torch.Tensor  # [B, A] long
    top1_prob: torch.Tensor  # [B, A] float
    entropy: torch.Tensor  # [B, A] float (nats)
    margin: torch.Tensor  # [B, A] float: top-1 minus top-2 probability
    in_A: torch.Tensor  # [B, A] bool: masked, top-1 not EOS (option), capped to the first K
    committed: torch.Tensor  # [B, L] bool: positions committed by this step
    active: torch.Tensor  # [B] bool: rows that ran a forward in this step
    # block=True only, [B, bl] over each row's current block: canvas positions (a short last
    # block repeats its last position), tokens before the step, the open (masked) slots, the
    # top-1 (the token where committed) and its probability (the mask id is never a prediction)
    block_pos: torch.Tensor | None = None
    block_x: torch.Tensor | None = None
    block_open: torch.Tensor | None = None
    block_top1: torch.Tensor | None = None
    block_p1: torch.Tensor | None = None


def answer_stats(
    logits: torch.Tensor,
    x_ans: torch.Tensor,
    mask_id: int,
    eos_ids: torch.Tensor,
    exclude_eos: bool,
    cap: int | None,
    with_entropy: bool = True,
) -> tuple[torch.Tensor, ...]:
    """Signals over answer logits `[b, A, V]` and current answer tokens `[b, A]`
    (`with_entropy=False`: the entropy, three passes over the vocabulary, is None).

    Every pass here is over the full vocabulary (126k-152k ids for the published models), so the
    passes are as few as the values allow: one copy with the mask id set to -inf, one
    log-softmax, one exp, and the entropy's terms in place (`p * logp` is NaN exactly where the
    old `where(p > 0, ...)` put 0: p = 0 with logp = -inf, or NaN logits)."""
    lg = logits.float()
    lg = lg.clone() if lg is logits else lg  # never write into the caller's logits
    lg[..., mask_id] = float("-inf")
    logp = torch.log_softmax(lg, dim=-1)
    del lg
    p = logp.exp()
    top = p.topk(2, dim=-1)
    top1_id = top.indices[..., 0]
    entropy = -p.mul(logp).nan_to_num_(nan=0.0).sum(-1) if with_entropy else None
    masked = x_ans == mask_id
    in_a = masked
    if exclude_eos and len(eos_ids):
        in_a = in_a & ~torch.isin(top1_id, eos_ids)
    if cap is not None:
        in_a = in_a & (in_a.long().cumsum(-1) <= cap)
    answer_top1 = torch.where(masked, top1_id, x_ans)
    margin = top.values[..., 0] - top.values[..., 1]
    return answer_top1, top.values[..., 0], entropy, margin, in_a


def empty_signals(
    x: torch.Tensor, layout_answer: tuple[int, int], block: tuple[int, int] | None = None
) -> StepSignals:
    """Signals for a batch where no row stepped (all NaN / False); `block` (the generation's
    start and the block length) adds block fields: the first block, its tokens, nothing open."""
    a0, a1 = layout_answer
    b = x.shape[0]
    nan = torch.full((b, a1 - a0), float("nan"), device=x.device)
    tracked = {}
    if block is not None:
        g0, bl = block
        pos = (g0 + torch.arange(bl, device=x.device)).clamp(max=x.shape[1] - 1).expand(b, -1)
        xb = x.gather(1, pos)
        tracked = {
            "block_pos": pos.clone(),
            "block_x": xb,
            "block_open": torch.zeros(b, bl, dtype=torch.bool, device=x.device),
            "block_top1": xb.clone(),
            "block_p1": torch.full((b, bl), float("nan"), device=x.device),
        }
    return StepSignals(
        answer_top1=x[:, a0:a1].clone(),
        top1_prob=nan,
        entropy=nan.clone(),
        margin=nan.clone(),
        in_A=torch.zeros(b, a1 - a0, dtype=torch.bool, device=x.device),
        committed=torch.zeros_like(x, dtype=torch.bool),
        active=torch.zeros(b, dtype=torch.bool, device=x.device),
        **tracked,
    )
