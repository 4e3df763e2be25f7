"""A minimal task for engine tests with scripted models (fixed budget, exact-match grading), and
a traced TIE run on one of its problems."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tie.ensemble import EnsembleOptions, run_method
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
    members: list, options: EnsembleOptions, task: TinyTask, tmp_path: Path, gold: str
) -> tuple[object, dict[str, float], dict[str, pd.DataFrame]]:
    """`tie:tcc` on one problem with traces: (output, round-0 score per model, traces). Checks on
    the way that the logged round scores are what the step trace adds up to."""
    with Tracer(tmp_path) as tracer:
        (out,) = run_method(
            "tie:tcc",
            members,
            ["q"],
            task,
            options,
            rows=[{"id": "p", "gold": gold}],
            tracer=tracer,
        )
    traces = read_traces(tmp_path)
    rounds = traces["rounds"]
    redone = recompute_round_tcc(traces["steps"]).set_index(["round", "model"])["score_tcc"]
    for r in rounds.itertuples():
        assert redone[(r.round, r.model)] == pytest.approx(r.score_tcc)
    first = rounds[rounds["round"] == 0].set_index("model")["score_tcc"].to_dict()
    return out, first, traces
