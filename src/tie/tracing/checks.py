"""The token change count C(T) recomputed from the step traces with the engine's own rule.

There is one implementation of the count: `tie.ensemble.scoring.step_change_count`, which the
engine calls at every step. This module replays it over `traces/steps.parquet` so the traces
explain the leaders (`rounds.parquet` `score_tcc`) and the final selections (`candidates.parquet`
`change_count`), and `analysis` reads C(T) from here. Positions: `traced` (default) reads what the
run's count read, the generation-region columns `gen_top1` / `gen_in` of a run with
`change_positions=answer_and_block` (the answer and the block being written), else the answer
columns `answer_top1` / `in_A` (A(t), the paper); `answer` always reads A(t) (the paper's
statistic, e.g. the stability study, from any run).

Pairs (t, t+1) follow one member's trajectory: they never cross a round boundary in a round
count, and in a whole-decode count they cross it unless the member's state was replaced by a
relay after that round (`rounds.parquet` `replaced`), as the engine counts. A look-ahead row
(`count_last_commit`) is one more point of the trajectory, last in its round.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROUND_KEYS = ("id", "method", "model", "round")
POSITIONS = ("traced", "answer")
ANSWER_COLUMNS = ("answer_top1", "in_A")
BLOCK_COLUMNS = ("gen_top1", "gen_in")


class TraceError(ValueError):
    """The step traces cannot give a change count (a column or a consistent region is missing)."""


def _require(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TraceError(f"steps.parquet: missing column(s) {missing}; has {sorted(frame.columns)}")


def _regions(frame: pd.DataFrame, positions: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per row: the top-1 ids and the tracked mask the count reads (see module docstring)."""
    if positions not in POSITIONS:
        raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
    answer = ([np.asarray(v, np.int64) for v in frame[c]] for c in ANSWER_COLUMNS)
    top1, tracked = (list(x) for x in answer)
    if positions == "traced" and BLOCK_COLUMNS[0] in frame.columns:
        for k, (g, gin) in enumerate(zip(frame[BLOCK_COLUMNS[0]], frame[BLOCK_COLUMNS[1]])):
            if g is not None and gin is not None:
                top1[k], tracked[k] = np.asarray(g, np.int64), np.asarray(gin, np.int64)
    return top1, [t.astype(bool) for t in tracked]


def step_changes(
    steps: pd.DataFrame,
    extra: tuple[str, ...] = (),
    positions: str = "traced",
    rounds: pd.DataFrame | None = None,
    scope: str = "round",
) -> pd.DataFrame:
    """One row per step: `n_A` (positions tracked at t), `n_changed` and `norm_changed` against
    the member's next step, `has_next` (False where no pair starts: the last step of a round for
    `scope="round"`; of the trajectory, or before a relay replaced the state, for `"whole"`).

    `extra` columns (e.g. `task` when runs are stacked) join the trajectory key and are kept.
    A whole-decode scope needs `rounds` (its `replaced` column) when a trajectory spans rounds;
    without it pairs stop at every round boundary (exact for one-round methods: single, post).
    """
    if scope not in ("round", "whole"):
        raise ValueError(f"scope must be 'round' or 'whole', got {scope!r}")
    _require(steps, (*extra, *ROUND_KEYS, "step", *ANSWER_COLUMNS))
    traj = [*extra, "id", "method", "model"]
    order = [*traj, "round", "step"] + (["lookahead"] if "lookahead" in steps.columns else [])
    frame = steps.sort_values(order, kind="stable").reset_index(drop=True)
    top1, tracked = _regions(frame, positions)
    length = np.fromiter((v.size for v in top1), np.int64, len(top1))
    bad = np.flatnonzero(length != np.fromiter((v.size for v in tracked), np.int64, len(top1)))
    if bad.size:
        row = frame.iloc[bad[0]]
        raise TraceError(
            f"steps.parquet {row[list(ROUND_KEYS)].to_dict()} step {row['step']}: the top-1 list "
            f"(answer_top1 / gen_top1) has {top1[bad[0]].size} entries, the tracked mask "
            f"(in_A / gen_in) {tracked[bad[0]].size}"
        )
    ids = frame.groupby(traj, sort=False).ngroup().to_numpy()
    same_traj = np.r_[ids[1:] == ids[:-1], False]
    rnd = frame["round"].to_numpy()
    crosses = same_traj & (np.r_[rnd[1:], -1] != rnd)
    has_next = same_traj & ~crosses
    # without `rounds`, pairs stop at round boundaries (documented above)
    if scope == "whole" and crosses.any() and rounds is not None:
        _require_rounds(rounds)
        replaced = {
            tuple(r)
            for r in rounds.loc[rounds["replaced"].astype(bool), list(ROUND_KEYS)]
            .astype({"id": str})
            .itertuples(index=False)
        }
        keys = frame[list(ROUND_KEYS)].astype({"id": str}).itertuples(index=False)
        kept = np.fromiter((tuple(k) not in replaced for k in keys), bool, len(frame))
        has_next = same_traj & (~crosses | kept)
    jump = np.flatnonzero(has_next & (np.r_[length[1:], 0] != length))
    if jump.size:
        row = frame.iloc[jump[0]]
        raise TraceError(
            f"steps.parquet {row[list(ROUND_KEYS)].to_dict()}: the tracked region changes length "
            f"after step {row['step']}"
        )
    import torch  # lazily: tie.tracing is imported by runs that never recount

    from tie.ensemble.scoring import step_change_count

    n_changed = np.zeros(len(frame), np.float64)
    norm_changed = np.zeros(len(frame), np.float64)
    for size in np.unique(length[has_next]):  # one call of the engine's rule per region length
        rows = np.flatnonzero(has_next & (length == size))
        prev = torch.as_tensor(np.stack([top1[k] for k in rows]).reshape(len(rows), size))
        nxt = torch.as_tensor(np.stack([top1[k + 1] for k in rows]).reshape(len(rows), size))
        mask = torch.as_tensor(np.stack([tracked[k] for k in rows]).reshape(len(rows), size))
        n_changed[rows] = step_change_count(prev, mask, nxt, normalise=False).numpy()
        norm_changed[rows] = step_change_count(prev, mask, nxt, normalise=True).numpy()
    out = frame[[*traj, "round", "step"]].copy()
    out["n_A"] = np.fromiter((v.sum() for v in tracked), np.int64, len(tracked))
    out["n_changed"] = n_changed.astype(np.int64)
    out["norm_changed"] = norm_changed
    out["has_next"] = has_next
    return out


def _require_rounds(rounds: pd.DataFrame) -> None:
    missing = [c for c in (*ROUND_KEYS, "replaced") if c not in rounds.columns]
    if missing:
        raise TraceError(f"rounds.parquet: missing column(s) {missing}")


def change_counts(
    steps: pd.DataFrame,
    by: tuple[str, ...] = ("id", "method", "model"),
    positions: str = "traced",
    rounds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """C(T) per group `by`: `tcc` (raw), `tcc_norm` (normalised), `n_steps`. Grouping by
    `round` gives round counts; without it, whole-decode counts (pass `rounds` for tie:*)."""
    extra = tuple(c for c in by if c not in ROUND_KEYS)
    scope = "round" if "round" in by else "whole"
    per_step = step_changes(steps, extra=extra, positions=positions, rounds=rounds, scope=scope)
    grouped = per_step.groupby(list(by), sort=True)
    return pd.DataFrame(
        {
            "tcc": grouped["n_changed"].sum(),
            "tcc_norm": grouped["norm_changed"].sum(),
            "n_steps": grouped["step"].size(),
        }
    ).reset_index()


def recompute_round_tcc(steps: pd.DataFrame, normalise: bool = True) -> pd.DataFrame:
    """score_tcc per (id, method, round, model) = -(change count over the round's steps), over
    the positions the run's count read."""
    counts = change_counts(steps, by=("id", "method", "round", "model"))
    counts["score_tcc"] = -(counts["tcc_norm"] if normalise else counts["tcc"].astype(float))
    return counts[["id", "method", "round", "model", "score_tcc"]]


def recompute_candidate_tcc(
    steps: pd.DataFrame, rounds: pd.DataFrame | None = None, normalise: bool = True
) -> pd.DataFrame:
    """The whole-decode change count per (id, method, model), as `candidates.parquet`
    `change_count` logs it for `selection_tcc=whole_decode`."""
    counts = change_counts(steps, by=("id", "method", "model"), rounds=rounds)
    counts["change_count"] = counts["tcc_norm"] if normalise else counts["tcc"].astype(float)
    return counts[["id", "method", "model", "change_count"]]
