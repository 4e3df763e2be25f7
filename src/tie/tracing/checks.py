"""Recompute logged round scores from the step table: the traces must explain the leaders."""

from __future__ import annotations

import numpy as np
import pandas as pd


def recompute_round_tcc(steps: pd.DataFrame, normalise: bool = True) -> pd.DataFrame:
    """score_tcc per (id, method, round, model) = -(change count over the round's steps).

    Steps traced with `change_positions=answer_and_block` carry `gen_top1` / `gen_in`, the
    positions that count was taken over; the others are counted over the answer (A(t)).
    """
    out = []
    for key, grp in steps.sort_values("step").groupby(["id", "method", "round", "model"]):
        block = "gen_top1" in grp and grp["gen_top1"].notna().all()
        cols = ("gen_top1", "gen_in") if block else ("answer_top1", "in_A")
        top1 = [np.asarray(v) for v in grp[cols[0]]]
        in_a = [np.asarray(v, dtype=bool) for v in grp[cols[1]]]
        total = 0.0
        for t in range(len(top1) - 1):
            changed = int(((top1[t] != top1[t + 1]) & in_a[t]).sum())
            size = int(in_a[t].sum())
            total += (changed / size if size else 0.0) if normalise else changed
        out.append((*key, -total))
    return pd.DataFrame(out, columns=["id", "method", "round", "model", "score_tcc"])
