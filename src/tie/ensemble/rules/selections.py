"""Final selections: which trajectory's answer a problem returns, from [M, B] statistics.

Each is `(counts, mean_top1, rounds_led, best_index) -> [B]` model index; `counts` is the change
count final selection reads (whole decode or last round, `selection_tcc`).
"""

from __future__ import annotations

import torch

from tie.ensemble.registry import register_final_selection
from tie.ensemble.scoring import argmax_with_ties


@register_final_selection("lowest_tcc")
def lowest_tcc(counts, mean_top1, rounds_led=None, best_index=None) -> torch.Tensor:
    """Lowest change count, ties -> higher mean top-1 -> model order (TIE_SPEC)."""
    leader, _ = argmax_with_ties(-counts, "own_top1", own_top1=mean_top1)
    return leader


@register_final_selection("best_model")
def best_model(counts, mean_top1, rounds_led=None, best_index=None) -> torch.Tensor:
    """Always the fixed constituent `best_model`."""
    m, b = counts.shape
    if best_index is None or not 0 <= best_index < m:
        raise ValueError(f"best_model needs a valid model index, got {best_index}")
    return torch.full((b,), best_index, dtype=torch.long)


@register_final_selection("most_selected")
def most_selected(counts, mean_top1, rounds_led=None, best_index=None) -> torch.Tensor:
    """Most rounds led, ties -> lowest_tcc."""
    if rounds_led is None:
        raise ValueError("most_selected needs rounds_led")
    led = rounds_led.to(torch.float64)
    most = led == led.max(dim=0, keepdim=True).values
    masked = torch.where(most, counts.to(torch.float64), torch.full_like(led, torch.inf))
    leader, _ = argmax_with_ties(-masked, "own_top1", own_top1=mean_top1)
    return leader
