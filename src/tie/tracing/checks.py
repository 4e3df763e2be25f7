"""Recompute logged round scores from the step table: the traces must explain the leaders."""

from __future__ import annotations

import numpy as np
import pandas as pd


def recompute_round_tcc(steps: pd.DataFrame, normalise: bool = True) -> pd.DataFrame:
    """score_tcc per (id, method, round, model) = -(change count over the round's steps)."""
    out = []
    for key, grp in steps.sort_values("step").groupby(["id", "method", "round", "model"]):
        top1 = [np.asarray(v) for v in grp["answer_top1"]]
        in_a = [np.asarray(v, dtype=bool) for v in grp["in_A"]]
        total = 0.0
        for t in range(len(top1) - 1):
            changed = int(((top1[t] != top1[t + 1]) & in_a[t]).sum())
            size = int(in_a[t].sum())
            total += (changed / size if size else 0.0) if normalise else changed
        out.append((*key, -total))
    return pd.DataFrame(out, columns=["id", "method", "round", "model", "score_tcc"])
