"""Trajectory scores from per-step signals (TIE_SPEC sections 2 and 3): the one token change
count (`step_change_count`, `change_count`; the engine, `tie.tracing.checks` and `analysis/`
all count with these), the logit scores, and the leader / final pick over [M, B] scores.

Pure tensor functions, vectorised over the batch, so the algorithm can be pinned by hand-built
cases without any model. The named rules they apply live in `tie.ensemble.rules`.
"""

from __future__ import annotations

import torch

from tie.ensemble.registry import FINAL_SELECTIONS, TIE_RULES

TIE_ATOL = 1e-9  # scores closer than this are a tie in the relay / selection


def step_change_count(
    prev_top1: torch.Tensor, prev_in_a: torch.Tensor, cur_top1: torch.Tensor, normalise: bool
) -> torch.Tensor:
    """Changes between steps t and t+1 for every row: positions of A(t) whose argmax moved.

    A position committed at step t shows its committed token at t+1, so a commit equal to the
    previous top-1 counts as no change. Normalised: divided by |A(t)|, an empty A(t) gives 0.
    """
    if prev_top1.shape != cur_top1.shape or prev_in_a.shape != prev_top1.shape:
        raise ValueError(
            f"signal shapes differ: {tuple(prev_top1.shape)}, {tuple(prev_in_a.shape)}, "
            f"{tuple(cur_top1.shape)}"
        )
    changed = ((prev_top1 != cur_top1) & prev_in_a).sum(dim=-1).to(torch.float64)
    if not normalise:
        return changed
    size = prev_in_a.sum(dim=-1).to(torch.float64)
    return torch.where(size > 0, changed / size.clamp(min=1), torch.zeros_like(changed))


def change_count(top1_history: torch.Tensor, in_a_history: torch.Tensor, normalise: bool) -> float:
    """C over consecutive steps of one trajectory: histories [T, A] -> one number."""
    total = 0.0
    for t in range(top1_history.shape[0] - 1):
        total += float(
            step_change_count(
                top1_history[t : t + 1],
                in_a_history[t : t + 1],
                top1_history[t + 1 : t + 2],
                normalise,
            )[0]
        )
    return total


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over A per row; rows with empty A fall back to the whole answer region [ours].

    A fully decided answer (every remaining position predicts EOS) is then judged by the
    confidence of the answer it holds instead of getting no score at all.
    """
    values = values.to(torch.float64)
    size = mask.sum(dim=-1)
    over_a = (values * mask).sum(dim=-1) / size.clamp(min=1)
    if values.shape[-1] == 0:
        return torch.zeros(values.shape[:-1], dtype=torch.float64, device=values.device)
    return torch.where(size > 0, over_a, values.mean(dim=-1))


def logit_scores(signals) -> dict[str, torch.Tensor]:
    """Higher-is-better scores from one forward's answer signals: top1, -entropy, margin [B]."""
    return {
        "top1": masked_mean(signals.top1_prob, signals.in_A),
        "entropy": -masked_mean(signals.entropy, signals.in_A),
        "margin": masked_mean(signals.margin, signals.in_A),
    }


def argmax_with_ties(
    scores: torch.Tensor,
    tie_break: str,
    own_top1: torch.Tensor | None = None,
    eligible: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    incumbent: torch.Tensor | None = None,
    tolerance: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Leader per row from scores [M, B]: argmax, ties by the tie rule `tie_break`, then model
    order.

    Scores within `tolerance` (plus float noise) of a row's best are tied. Returns (leader [B],
    tied [B] bool: the top score was shared). `eligible` [M, B] removes gated models (a row with
    none eligible keeps every model). `own_top1` [M, B] is the tie key of the keyed rules (the
    caller passes the key the rule names, `tie.ensemble.rules.tie_rules`); `incumbent` [B] the
    previous round's leader (-1: none).
    """
    rule = TIE_RULES.get(tie_break)
    scores = scores.to(torch.float64).clone()
    m, b = scores.shape
    if eligible is not None:
        any_ok = eligible.any(dim=0, keepdim=True)
        scores = torch.where(eligible | ~any_ok, scores, torch.full_like(scores, -torch.inf))
    best = scores.max(dim=0, keepdim=True).values
    top = (scores >= best - tolerance - TIE_ATOL) & torch.isfinite(scores) | (scores == best)
    tied = top.sum(dim=0) > 1
    top = rule(top, own_top1, incumbent, generator)
    order = torch.arange(m, device=scores.device).unsqueeze(1).expand(m, b)
    leader = torch.where(top, order, torch.full_like(order, m)).min(dim=0).values
    return leader, tied


def select_final(
    counts: torch.Tensor,
    mean_top1: torch.Tensor,
    rule: str,
    rounds_led: torch.Tensor | None = None,
    best_index: int | None = None,
) -> torch.Tensor:
    """Final candidate per row from [M, B] statistics by the registered final selection `rule`
    (`tie.ensemble.rules.selections`)."""
    return FINAL_SELECTIONS.get(rule)(counts, mean_top1, rounds_led, best_index)
