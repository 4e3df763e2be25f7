"""`EnsembleOptions.change_positions`: the token change count over the answer positions (the
paper) or also over the masked reasoning positions of the block being written. A member whose
reasoning predictions waver while its answer stays put ties with a steady one on the answer alone
and loses the relay once its current block counts."""

from __future__ import annotations

import pytest
import torch
from tiny_task import TinyTask

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.models.scripted import ScriptedBackend, make_tokenizer
from tie.tracing import Tracer, read_traces, recompute_round_tcc

REASONING, ANSWER, BLOCK = 8, 4, 8


def member(wavers: bool) -> ScriptedBackend:
    """Answer top-1 'x' throughout; reasoning top-1 'x', or (`wavers`) 'x' / 'y' by the parity
    of the number of reasoning positions already written, at every masked position alike."""
    tok = make_tokenizer("a")
    x_id, y_id, v = tok.convert_tokens_to_ids("x"), tok.convert_tokens_to_ids("y"), len(tok)
    mask = tok.mask_token_id

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        b, length = input_ids.shape
        r0 = length - ANSWER - len("Answer:") - REASONING
        written = (input_ids[:, r0 : r0 + REASONING] != mask).sum(1)
        out = torch.zeros(b, length, v)
        out[..., x_id] = 5.0 + 0.1 * torch.arange(length, dtype=torch.float32)
        if wavers:
            odd = (written % 2 == 1).float().unsqueeze(1)
            out[:, r0 : r0 + REASONING, y_id] = (
                out[:, r0 : r0 + REASONING, x_id] + 1.0 - 2.0 * (1 - odd)
            )
        out[..., mask] = -1e9
        return out

    return ScriptedBackend(fn, tokenizer=tok, name="wavers" if wavers else "steady")


def run(change_positions: str, tmp_path):
    cfg = DecodeConfig(block_length=BLOCK, rounding="ceil")
    members = [Constituent("wavers", member(True), cfg), Constituent("steady", member(False), cfg)]
    options = EnsembleOptions(
        interval=BLOCK, tie_break="model_order", change_positions=change_positions
    )
    with Tracer(tmp_path) as tracer:
        (out,) = run_method(
            "tie:tcc", members, ["q"], TinyTask(REASONING, ANSWER), options, rows=[{"id": "p", "gold": "xxxx"}],
            tracer=tracer,
        )  # fmt: skip
    traces = read_traces(tmp_path)
    rounds = traces["rounds"]
    # the logged round scores are what the step trace adds up to, over the positions it tracked
    redone = recompute_round_tcc(traces["steps"]).set_index(["round", "model"])["score_tcc"]
    for r in rounds.itertuples():
        assert redone[(r.round, r.model)] == pytest.approx(r.score_tcc)
    assert traces["steps"]["gen_top1"].notna().all() == (change_positions == "answer_and_block")
    return out, rounds[rounds["round"] == 0].set_index("model")["score_tcc"].to_dict()


def test_answer_positions_alone_see_a_tie(tmp_path):
    out, first = run("answer", tmp_path)
    assert first == {"wavers": 0.0, "steady": 0.0}
    assert out.leaders == ["wavers"]  # model order


def test_the_current_block_exposes_the_waverer(tmp_path):
    out, first = run("answer_and_block", tmp_path)
    # after t commits, 8 - t reasoning + 4 answer positions are tracked; the 7 - t still masked
    # flip at the next step, the committed one equals its previous top-1 (no change)
    want = -sum((7 - t) / (12 - t) for t in range(7))
    assert first == {"wavers": pytest.approx(want), "steady": 0.0}
    assert out.leaders == ["steady"]
    assert out.prediction == "xxxx"
    waver = next(c for c in out.candidates if c["model"] == "wavers")
    assert waver["change_count"] == pytest.approx(-want)  # final selection reads the same count


def test_unknown_change_positions_is_refused():
    with pytest.raises(ValueError, match="change_positions"):
        EnsembleOptions(change_positions="reasoning")
