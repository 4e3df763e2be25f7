"""Token change count C(T), recomputed from `traces/steps.parquet`.

For consecutive steps (t, t+1) of one model in one round, the count is the number of answer
positions a in A(t) whose top-1 token differs between t and t+1; the normalised form divides each
step's count by |A(t)| (0 when A(t) is empty). Pairs never cross a round boundary, because a relay
replaces the state (TIE_SPEC section 3); a whole-decode count is the sum over rounds. A position
committed at t carries its committed token at t+1, so a commit equal to the previous top-1 is no
change, as TIE_SPEC prescribes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.rundir import RunDirError, require_columns

ROUND_KEYS = ["id", "method", "model", "round"]
STEP_COLUMNS = (*ROUND_KEYS, "step", "answer_top1", "in_A")


def step_changes(steps: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per step: `n_A` = |A(t)|, `n_changed` and `norm_changed` against step t+1.

    The last step of a round has no successor and counts 0 (`has_next` False). `extra` columns
    (e.g. `task` when several runs are stacked) are part of the round key and kept in the output.
    """
    require_columns(steps, (*STEP_COLUMNS, *extra), "steps.parquet")
    keys_cols = [*extra, *ROUND_KEYS]
    frame = steps.sort_values([*keys_cols, "step"], kind="stable").reset_index(drop=True)
    top1 = [np.asarray(v, dtype=np.int64) for v in frame["answer_top1"]]
    in_a = [np.asarray(v, dtype=bool) for v in frame["in_A"]]
    keys = frame[keys_cols].astype(str).agg("\x1f".join, axis=1).to_numpy()
    n = len(frame)
    n_a = np.zeros(n, dtype=np.int64)
    n_changed = np.zeros(n, dtype=np.int64)
    has_next = np.zeros(n, dtype=bool)
    for i in range(n):
        if top1[i].shape != in_a[i].shape:
            raise RunDirError(
                f"steps.parquet row {frame.loc[i, ROUND_KEYS].to_dict()} step "
                f"{frame.loc[i, 'step']}: answer_top1 has {top1[i].size} entries, in_A {in_a[i].size}"
            )
        n_a[i] = int(in_a[i].sum())
        if i + 1 < n and keys[i + 1] == keys[i]:
            if top1[i + 1].shape != top1[i].shape:
                raise RunDirError(
                    f"steps.parquet {frame.loc[i, ROUND_KEYS].to_dict()}: answer region length "
                    f"changes between steps {frame.loc[i, 'step']} and {frame.loc[i + 1, 'step']}"
                )
            has_next[i] = True
            n_changed[i] = int((in_a[i] & (top1[i] != top1[i + 1])).sum())
    out = frame[[*keys_cols, "step"]].copy()
    out["n_A"] = n_a
    out["n_changed"] = n_changed
    out["norm_changed"] = np.where(n_a > 0, n_changed / np.maximum(n_a, 1), 0.0)
    out["has_next"] = has_next
    return out


def change_counts(
    steps: pd.DataFrame, by: tuple[str, ...] = ("id", "method", "model")
) -> pd.DataFrame:
    """C(T) summed over every step of each group: `tcc` (raw) and `tcc_norm` (normalised)."""
    per_step = step_changes(steps, extra=tuple(c for c in by if c not in ROUND_KEYS))
    grouped = per_step.groupby(list(by), sort=True)
    return pd.DataFrame(
        {
            "tcc": grouped["n_changed"].sum(),
            "tcc_norm": grouped["norm_changed"].sum(),
            "n_steps": grouped["step"].size(),
        }
    ).reset_index()


def round_scores(steps: pd.DataFrame) -> pd.DataFrame:
    """Per (id, method, round, model): the relay score of the token change count, -tcc_norm."""
    counts = change_counts(steps, by=("id", "method", "round", "model"))
    counts["score_tcc"] = -counts["tcc_norm"]
    return counts


def check_round_scores(
    steps: pd.DataFrame, rounds: pd.DataFrame, atol: float = 1e-6
) -> pd.DataFrame:
    """Rows of `rounds.parquet` whose logged `score_tcc` differs from the recomputed one."""
    require_columns(rounds, ("id", "method", "round", "model", "score_tcc"), "rounds.parquet")
    ours = round_scores(steps)[["id", "method", "round", "model", "score_tcc"]]
    logged = rounds[["id", "method", "round", "model", "score_tcc"]].copy()
    logged["id"] = logged["id"].astype(str)
    merged = logged.merge(ours, on=["id", "method", "round", "model"], suffixes=("_logged", ""))
    bad = ~np.isclose(merged["score_tcc_logged"], merged["score_tcc"], atol=atol)
    return merged[bad].reset_index(drop=True)
