"""Trajectory scores from per-step answer-region signals (TIE_SPEC sections 2 and 3).

Pure tensor functions, vectorised over the batch, so the algorithm can be pinned by hand-built
cases without any model.
"""

from __future__ import annotations

import torch

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
    """Leader per row from scores [M, B]: argmax, ties by `tie_break` then model order.

    Scores within `tolerance` (plus float noise) of a row's best are tied.
    Returns (leader [B], tied [B] bool: the top score was shared). `eligible` [M, B] removes
    gated models (a row with none eligible keeps every model). `incumbent` [B]: the previous
    round's leader (-1: none) for `tie_break="incumbent"`, which keeps it when it is among the
    tied (a tie is no evidence for handing the canvas over) and otherwise falls back to own_top1.
    `tracked_top1` ranks the tied by `own_top1` as well: the caller passes the mean top-1 over
    the positions its change count tracks as that key.
    """
    scores = scores.to(torch.float64).clone()
    m, b = scores.shape
    if eligible is not None:
        any_ok = eligible.any(dim=0, keepdim=True)
        scores = torch.where(eligible | ~any_ok, scores, torch.full_like(scores, -torch.inf))
    best = scores.max(dim=0, keepdim=True).values
    top = (scores >= best - tolerance - TIE_ATOL) & torch.isfinite(scores) | (scores == best)
    tied = top.sum(dim=0) > 1
    if tie_break == "incumbent":
        if incumbent is None:
            raise ValueError("tie_break='incumbent' needs the previous round's leaders")
        rows = torch.arange(b, device=scores.device)
        inc = incumbent.to(scores.device)
        keep = (inc >= 0) & top[inc.clamp(min=0), rows]
        only = torch.zeros_like(top)
        only[inc.clamp(min=0), rows] = True
        top = torch.where(keep.unsqueeze(0), only, top)
        tie_break = "own_top1"
    if tie_break in ("own_top1", "tracked_top1"):
        if own_top1 is None:
            raise ValueError(f"tie_break={tie_break!r} needs the models' own mean answer top-1")
        key = torch.where(top, own_top1.to(torch.float64), torch.full_like(scores, -torch.inf))
        kbest = key.max(dim=0, keepdim=True).values
        top = top & (key >= kbest - TIE_ATOL)
    elif tie_break == "random":
        noise = torch.rand((m, b), generator=generator, dtype=torch.float64)
        key = torch.where(top, noise, torch.full_like(noise, -1.0))
        top = key == key.max(dim=0, keepdim=True).values
    elif tie_break != "model_order":
        raise ValueError(f"unknown tie_break {tie_break!r}")
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
    """Final candidate per row from [M, B] statistics.

    lowest_tcc: lowest change count, ties -> higher mean top-1 -> model order.
    best_model: always `best_index`. most_selected: most rounds led, ties -> lowest_tcc.
    """
    m, b = counts.shape
    if rule == "best_model":
        if best_index is None or not 0 <= best_index < m:
            raise ValueError(f"best_model needs a valid model index, got {best_index}")
        return torch.full((b,), best_index, dtype=torch.long)
    if rule == "lowest_tcc":
        leader, _ = argmax_with_ties(-counts, "own_top1", own_top1=mean_top1)
        return leader
    if rule == "most_selected":
        if rounds_led is None:
            raise ValueError("most_selected needs rounds_led")
        led = rounds_led.to(torch.float64)
        most = led == led.max(dim=0, keepdim=True).values
        masked_counts = torch.where(most, counts.to(torch.float64), torch.full_like(led, torch.inf))
        leader, _ = argmax_with_ties(-masked_counts, "own_top1", own_top1=mean_top1)
        return leader
    raise ValueError(f"unknown final_selection {rule!r}")
