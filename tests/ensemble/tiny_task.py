"""A minimal task for engine tests with scripted models (fixed budget, exact-match grading), and
a traced TIE run on one of its problems."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.tasks.base import CanvasBudget
from tie.tracing import Tracer, read_traces, recompute_round_tcc


class TinyTask:
    name = "tiny"
    answer_suffix = "Answer:"

    def __init__(self, reasoning: int, answer: int) -> None:
        self.budget = CanvasBudget(reasoning, answer)

    def score(self, text: str, row: dict) -> tuple[str, bool]:
        return text, text == row["gold"]


def traced_tcc_run(
    backends: dict[str, object],
    tmp_path: Path,
    reasoning: int,
    answer: int,
    gold: str,
    **options: object,
) -> tuple[object, dict[str, float], dict[str, pd.DataFrame]]:
    """`tie:tcc` over `backends` (blocks = relay interval = `reasoning`, model order as given) on
    one problem, traced: (output, round-0 score per model, traces). Checks on the way that the
    logged round scores are what the step trace adds up to."""
    cfg = DecodeConfig(block_length=reasoning, rounding="ceil")
    members = [Constituent(name, be, cfg) for name, be in backends.items()]
    opts = EnsembleOptions(interval=reasoning, **options)
    task = TinyTask(reasoning, answer)
    with Tracer(tmp_path) as tracer:
        (out,) = run_method(
            "tie:tcc", members, ["q"], task, opts, rows=[{"id": "p", "gold": gold}], tracer=tracer
        )
    traces = read_traces(tmp_path)
    rounds = traces["rounds"]
    redone = recompute_round_tcc(traces["steps"]).set_index(["round", "model"])["score_tcc"]
    for r in rounds.itertuples():
        assert redone[(r.round, r.model)] == pytest.approx(r.score_tcc)
    first = rounds[rounds["round"] == 0].set_index("model")["score_tcc"].to_dict()
    return out, first, traces
