"""Token change count C(T) from `traces/steps.parquet`: the engine's count, replayed.

The one implementation lives in `tie.tracing.checks`, which calls the engine's
`tie.ensemble.scoring.step_change_count` over the positions the run's count read (with
`change_positions=answer_and_block`, the answer and the block being written); this module gives
the studies that count with run-directory errors (`RunDirError`). `positions="answer"` reads A(t)
only, the paper's statistic, from any run.
"""

from __future__ import annotations

import pandas as pd

from analysis.rundir import RunDirError
from tie.tracing import checks

ROUND_KEYS = list(checks.ROUND_KEYS)


def _run_dir_errors(fn):
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except checks.TraceError as exc:
            raise RunDirError(str(exc)) from exc

    wrapped.__doc__, wrapped.__name__ = fn.__doc__, fn.__name__
    return wrapped


step_changes = _run_dir_errors(checks.step_changes)
change_counts = _run_dir_errors(checks.change_counts)


def round_scores(steps: pd.DataFrame, positions: str = "traced") -> pd.DataFrame:
    """Per (id, method, round, model): the relay score of the token change count, -tcc_norm."""
    counts = change_counts(steps, by=("id", "method", "round", "model"), positions=positions)
    counts["score_tcc"] = -counts["tcc_norm"]
    return counts


def check_round_scores(
    steps: pd.DataFrame, rounds: pd.DataFrame, atol: float = 1e-6
) -> pd.DataFrame:
    """Rows of `rounds.parquet` whose logged `score_tcc` differs from the recomputed one."""
    from analysis.rundir import require_columns

    require_columns(rounds, ("id", "method", "round", "model", "score_tcc"), "rounds.parquet")
    ours = round_scores(steps)[["id", "method", "round", "model", "score_tcc"]]
    logged = rounds[["id", "method", "round", "model", "score_tcc"]].copy()
    logged["id"] = logged["id"].astype(str)
    merged = logged.merge(ours, on=["id", "method", "round", "model"], suffixes=("_logged", ""))
    bad = ~(merged["score_tcc_logged"] - merged["score_tcc"]).abs().le(atol)
    return merged[bad].reset_index(drop=True)
