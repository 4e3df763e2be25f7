"""`EnsembleOptions.change_positions`: the token change count over the answer positions (the
paper) or also over the masked reasoning positions of the block being written. A member whose
reasoning predictions waver while its answer stays put ties with a steady one on the answer alone
and loses the relay once its current block counts."""

from __future__ import annotations

import pytest
import torch
from fakes import ScriptedBackend, make_tokenizer
from tiny_task import TinyTask, traced_tcc_run, xy_member

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method

REASONING, ANSWER, BLOCK = 8, 4, 8


def member(wavers: bool) -> ScriptedBackend:
    """Answer top-1 'x' throughout; reasoning top-1 'x', or (`wavers`) 'x' / 'y' by the parity
    of the number of reasoning positions already written, at every masked position alike."""

    def edit(out, input_ids, x_id, y_id, mask):
        if wavers:
            r0 = input_ids.shape[1] - ANSWER - len("Answer:") - REASONING
            written = (input_ids[:, r0 : r0 + REASONING] != mask).sum(1)
            odd = (written % 2 == 1).float().unsqueeze(1)
            reasoning = slice(r0, r0 + REASONING)
            out[:, reasoning, y_id] = out[:, reasoning, x_id] + 1.0 - 2.0 * (1 - odd)

    return xy_member("wavers" if wavers else "steady", edit)


def run(change_positions: str, tmp_path):
    backends = {"wavers": member(True), "steady": member(False)}
    out, first, traces = traced_tcc_run(
        backends, tmp_path, REASONING, ANSWER, "xxxx",
        tie_break="model_order", experimental={"change_positions": change_positions},
    )  # fmt: skip
    # block-aware steps carry the positions their count was taken over
    assert traces["steps"]["gen_top1"].notna().all() == (change_positions == "answer_and_block")
    return out, first


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
        EnsembleOptions(experimental={"change_positions": "reasoning"})


def confident(block_logit: float, answer_logit: float, name: str) -> ScriptedBackend:
    """Steady everywhere (no change to count), with the given confidence in its reasoning block
    and in its answer."""
    tok = make_tokenizer("a")
    x_id, v, mask = tok.convert_tokens_to_ids("x"), len(tok), tok.mask_token_id

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        b, length = input_ids.shape
        out = torch.zeros(b, length, v)
        out[..., x_id] = block_logit + 0.01 * torch.arange(length, dtype=torch.float32)
        out[:, length - ANSWER :, x_id] = answer_logit
        out[..., mask] = -1e9
        return out

    return ScriptedBackend(fn, tokenizer=tok, name=name)


@pytest.mark.parametrize(
    "positions, tie_break, leader",
    [
        ("answer_and_block", "own_top1", "sure_answer"),  # the paper's key: answer top-1
        ("answer_and_block", "tracked_top1", "sure_block"),  # block + answer top-1
        ("answer", "tracked_top1", "sure_answer"),  # tracked positions are A(t): the same
    ],
)
def test_tracked_top1_ranks_ties_by_the_positions_the_count_reads(positions, tie_break, leader):
    cfg = DecodeConfig(block_length=BLOCK, rounding="ceil")
    members = [
        Constituent("sure_answer", confident(2.0, 6.0, "sure_answer"), cfg),
        Constituent("sure_block", confident(8.0, 5.5, "sure_block"), cfg),
    ]
    options = EnsembleOptions(
        interval=BLOCK, tie_break=tie_break, experimental={"change_positions": positions}
    )
    (out,) = run_method(
        "tie:tcc", members, ["q"], TinyTask(REASONING, ANSWER), options, rows=[{"id": "p", "gold": "xxxx"}]
    )  # fmt: skip
    assert out.leaders == [leader]
