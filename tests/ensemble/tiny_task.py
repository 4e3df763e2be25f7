"""Scripted x/y members and a traced TIE run on one problem of the tests' `TinyTask` (re-exported
here for the engine tests that import it with these helpers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch
from fakes import ScriptedBackend, TinyTask, make_tokenizer

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.tracing import Tracer, read_traces, recompute_round_tcc

# edit(logits [B, L, V], input_ids, x_id, y_id, mask_id) shapes a scripted member's logits in place
LogitEdit = Callable[[torch.Tensor, torch.Tensor, int, int, int], None]


def xy_member(name: str, edit: LogitEdit) -> ScriptedBackend:
    """A scripted member whose top-1 is 'x' everywhere, more confident further right, until
    `edit` changes it; the mask token is never predicted."""
    tok = make_tokenizer("a")
    x_id, y_id, mask = (
        tok.convert_tokens_to_ids("x"),
        tok.convert_tokens_to_ids("y"),
        tok.mask_token_id,
    )

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        b, length = input_ids.shape
        out = torch.zeros(b, length, len(tok))
        out[..., x_id] = 5.0 + 0.1 * torch.arange(length, dtype=torch.float32)
        edit(out, input_ids, x_id, y_id, mask)
        out[..., mask] = -1e9
        return out

    return ScriptedBackend(fn, tokenizer=tok, name=name)


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
