"""Issue 9 baselines pinned on the hand-checkable fake decoder."""

from __future__ import annotations

import fake_decoding as fd
import pytest
import torch
from test_engine import EchoTask, cons, flaky, run, stable

from tie.ensemble import trajectory
from tie.ensemble.baselines import combine_logits

ROW = [{"id": "p", "gold": "42"}]


@pytest.fixture(autouse=True)
def fake_decoder(monkeypatch):
    monkeypatch.setattr(trajectory, "decoding_api", lambda: (fd.Decoder, fd.build_canvas))


def test_combine_rules():
    a = torch.log(torch.tensor([[[0.9, 0.1]]]))
    b = torch.log(torch.tensor([[[0.1, 0.9]]]))
    c = torch.log(torch.tensor([[[0.5, 0.5]]]))
    assert combine_logits([a, c], "mean").exp()[0, 0].tolist() == pytest.approx([0.7, 0.3])
    prod = combine_logits([a, b], "product").exp()[0, 0]
    assert prod.tolist() == pytest.approx([0.5, 0.5])  # sqrt(.09)/(2 sqrt(.09))
    with pytest.raises(ValueError, match="avg rule"):
        combine_logits([a], "median")


def test_avg_commits_from_the_combined_distribution():
    strong, weak = cons("S", stable("42", peak=4.0)), cons("W", stable("77", peak=1.0))
    (out,) = run("avg:mean", [strong, weak], rows=ROW)
    assert out.prediction == "42" and out.nfe == 2 * 10  # M forwards per step
    assert out.selected_model == "S+W"
    (out,) = run("avg:product", [weak, strong], rows=ROW)
    assert out.prediction == "42"


def test_avg_rejects_different_tokenizers_by_name():
    with pytest.raises(ValueError, match=r"share one tokenizer.*S: .*F: "):
        run("avg:mean", [cons("S", stable()), cons("F", stable(), variant="b")])


def test_vote_majority_and_tie_break():
    members = [cons("A", stable("11")), cons("B", stable("42")), cons("C", stable("42"))]
    (out,) = run("vote", members, rows=ROW)
    assert out.prediction == "42" and out.selected_model == "B"
    (out,) = run("vote", [cons("F", flaky()), cons("S", stable())], rows=ROW)
    assert out.selected_model == "S"  # 1-1 tie: lowest whole-decode change count
    with pytest.raises(ValueError, match="rows"):
        run("vote", members)


def test_oracle_is_correct_if_any_constituent_is():
    members = [cons("A", stable("11")), cons("B", stable("42"))]
    (out,) = run("oracle", members, rows=ROW)
    assert out.prediction == "42" and out.selected_model == "B"
    (out,) = run("oracle", members, rows=[{"id": "p", "gold": "99"}], task=EchoTask())
    assert out.prediction in ("11", "42")
