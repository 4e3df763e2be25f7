"""Answer-region signals under a per-model temperature (calibration, beyond the paper).

Logit-based scores compare confidences across models whose logits are scaled differently; a
temperature fitted on a held-out split puts them on one scale. This computes the same signals
as `Decoder.answer_signals` from `logits / T` with one forward pass.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

from tie.ensemble.bridge import region_spans
from tie.models.backend import logits_span


def answer_positions_in_a(
    x_ans: torch.Tensor,
    top1: torch.Tensor,
    mask_id: int,
    eos_ids,
    exclude_eos: bool,
    cap: int | None,
) -> torch.Tensor:
    """A(t): masked answer positions, minus those predicting EOS, capped to the first K."""
    in_a = x_ans == mask_id
    if exclude_eos:
        in_a &= ~torch.isin(top1, torch.tensor(list(eos_ids), device=top1.device))
    if cap is not None:
        in_a &= in_a.long().cumsum(dim=-1) <= cap
    return in_a


def signals_from_logits(
    logits: torch.Tensor, x_ans: torch.Tensor, backend: Any, cfg: Any, temperature: float = 1.0
) -> SimpleNamespace:
    """top1_prob / entropy / margin / in_A of answer positions from their logits [B, A, V]."""
    lg = logits.float() / temperature
    lg[..., backend.mask_id] = float("-inf")  # as the decoder: the mask is never a prediction
    logp = torch.log_softmax(lg, dim=-1)
    p = logp.exp()
    top2 = p.topk(2, dim=-1)
    top1 = top2.indices[..., 0]
    answer_top1 = torch.where(x_ans == backend.mask_id, top1, x_ans)
    in_a = answer_positions_in_a(
        x_ans,
        top1,
        backend.mask_id,
        backend.eos_ids,
        getattr(cfg, "exclude_eos_from_answer", True),
        getattr(cfg, "eos_answer_cap", None),
    )
    return SimpleNamespace(
        answer_top1=answer_top1,
        top1_prob=top2.values[..., 0],
        entropy=-(p * logp).nan_to_num().sum(dim=-1),
        margin=top2.values[..., 0] - top2.values[..., 1],
        in_A=in_a,
    )


def calibrated_answer_signals(
    backend: Any,
    cfg: Any,
    x: torch.Tensor,
    attention_mask: torch.Tensor,
    layout: Any,
    temperature: float,
) -> SimpleNamespace:
    """One forward of `backend` on canvases x, signals of the answer region at temperature T."""
    a0, alen = region_spans(layout)["answer"]
    with torch.no_grad():
        logits = logits_span(backend, x, attention_mask, (a0, a0 + alen))
    return signals_from_logits(logits, x[:, a0 : a0 + alen], backend, cfg, temperature)
