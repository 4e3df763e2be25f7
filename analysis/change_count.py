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
    length = np.fromiter((v.size for v in top1), dtype=np.int64, count=len(top1))
    bad = np.flatnonzero(length != np.fromiter((v.size for v in in_a), np.int64, len(in_a)))
    if bad.size:
        row = frame.iloc[bad[0]]
        raise RunDirError(
            f"steps.parquet {row[ROUND_KEYS].to_dict()} step {row['step']}: answer_top1 has "
            f"{top1[bad[0]].size} entries, in_A {in_a[bad[0]].size}"
        )
    group = frame.groupby(keys_cols, sort=False).ngroup().to_numpy()
    has_next = np.r_[group[1:] == group[:-1], False]
    jump = np.flatnonzero(has_next & (np.r_[length[1:], 0] != length))
    if jump.size:
        row = frame.iloc[jump[0]]
        raise RunDirError(
            f"steps.parquet {row[ROUND_KEYS].to_dict()}: answer region length changes after "
            f"step {row['step']}"
        )
    n_a = np.fromiter((v.sum() for v in in_a), dtype=np.int64, count=len(in_a))
    n_changed = np.zeros(len(frame), dtype=np.int64)
    for size in np.unique(length[has_next]):  # vectorised per answer-region length
        rows = np.flatnonzero(has_next & (length == size))
        cur = np.stack([top1[k] for k in rows]).reshape(len(rows), size)
        nxt = np.stack([top1[k + 1] for k in rows]).reshape(len(rows), size)
        mask = np.stack([in_a[k] for k in rows]).reshape(len(rows), size)
        n_changed[rows] = (mask & (cur != nxt)).sum(axis=1)
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
