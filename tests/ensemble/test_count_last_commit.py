"""The n steps of a round see the answer react to only n - 1 of its commits. A member whose answer
flips on the round's last commit looks stable unless the round ends with one look-ahead forward
(`EnsembleOptions.count_last_commit`)."""

from __future__ import annotations

import pytest
import torch
from fakes import ScriptedBackend
from tiny_task import TinyTask, traced_tcc_run, xy_member

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method

REASONING, ANSWER, BLOCK = 8, 4, 8


def member(flips: bool) -> ScriptedBackend:
    """Writes 'x' in the reasoning, least confident at its first position (committed last);
    `flips`: the answer's argmax turns from 'x' to 'y' once that position is written."""
    r0 = -(REASONING + len("Answer:") + ANSWER)  # first reasoning position, from the right

    def edit(out, input_ids, x_id, y_id, mask):
        length = input_ids.shape[1]
        answer = slice(length - ANSWER, length)
        out[:, answer, x_id] = 3.0
        if flips:
            written = input_ids[:, length + r0] != mask
            out[:, answer, y_id] = torch.where(written, 6.0, 0.0).unsqueeze(1)

    return xy_member("flips" if flips else "steady", edit)


def run(count_last_commit: bool, tmp_path):
    backends = {"flips": member(True), "steady": member(False)}
    out, first, traces = traced_tcc_run(
        backends, tmp_path, REASONING, ANSWER, "xxxx",
        tie_break="model_order", experimental={"count_last_commit": count_last_commit},
    )  # fmt: skip
    assert traces["steps"]["lookahead"].sum() == (2 if count_last_commit else 0)
    return out, first


def test_last_commit_is_invisible_by_default(tmp_path):
    out, first = run(False, tmp_path)
    assert first == {"flips": 0.0, "steady": 0.0}  # a tie: model order picks the flipper
    assert out.leaders == ["flips"]
    assert out.nfe == 2 * (REASONING + ANSWER)


def test_look_ahead_sees_the_flip_and_relays_the_steady_member(tmp_path):
    out, first = run(True, tmp_path)
    assert first == {"flips": pytest.approx(-1.0), "steady": 0.0}  # all 4 answer slots moved
    assert out.leaders == ["steady"]
    assert out.prediction == "xxxx"
    assert out.nfe == 2 * (REASONING + ANSWER) + 2  # one look-ahead per member, one relayed round
    flipper = next(c for c in out.candidates if c["model"] == "flips")
    assert flipper["change_count"] == pytest.approx(1.0)  # joins the whole-decode count once


def test_option_is_validated():
    with pytest.raises(ValueError, match="count_last_commit"):
        EnsembleOptions(experimental={"count_last_commit": "yes"})


def test_logit_scorings_spend_no_look_ahead():
    cfg = DecodeConfig(block_length=BLOCK, rounding="ceil")
    members = [Constituent("flips", member(True), cfg), Constituent("steady", member(False), cfg)]
    nfe = [
        run_method(
            "tie:top1", members, ["q"], TinyTask(REASONING, ANSWER),
            EnsembleOptions(interval=BLOCK, experimental={"count_last_commit": flag}), rows=[{"id": "p", "gold": "xxxx"}],
        )[0].nfe
        for flag in (False, True)
    ]  # fmt: skip
    assert nfe[0] == nfe[1]
