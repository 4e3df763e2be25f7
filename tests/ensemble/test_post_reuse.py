"""`post` reuses the `single:<m>` decodes of the same batch (DecodeShare): identical outputs and
traces, fewer decoder steps, and `post`'s NFE still counts every member's forwards."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from fakes import TinyTask

from tie.ensemble import EnsembleOptions, run_method, trajectory
from tie.ensemble.methods import DecodeShare
from tie.tracing import Tracer, read_traces

torch.set_num_threads(1)
METHODS = ["single:llada", "single:dream", "post"]


@pytest.fixture(scope="module")
def members(tiny_members):
    """The tiny llada + dream pair (different tokenizers) of `tests/conftest.py`."""
    return tiny_members[:2]


def counting_decoder(monkeypatch) -> dict[str, int]:
    """Count Decoder.step calls (one per forward of a decode) through the engine's seam."""
    decoder_cls, build_canvas = trajectory.decoding_api()
    calls = {"step": 0}

    class Counting(decoder_cls):  # type: ignore[misc, valid-type]
        def step(self, *args, **kwargs):
            calls["step"] += 1
            return super().step(*args, **kwargs)

    monkeypatch.setattr(trajectory, "decoding_api", lambda: (Counting, build_canvas))
    return calls


def run_all(members, tmp_path, share: DecodeShare | None):
    prompts = ["1+1?", "What is 2 and 3?", "7"]
    rows = [{"id": "a", "gold": "2"}, {"id": "b", "gold": "5"}, {"id": "c", "gold": "7"}]
    opts = EnsembleOptions(interval=4)
    with Tracer(tmp_path) as tracer:
        outs = {
            m: run_method(m, members, prompts, TinyTask(), opts, tracer, rows=rows, share=share)
            for m in METHODS
        }
    return outs, read_traces(tmp_path)


def comparable(out) -> tuple:
    return (out.prediction, out.reasoning, out.selected_model, out.nfe, out.candidates)


def test_post_reusing_single_decodes_gives_identical_outputs_and_traces(
    members, tmp_path, monkeypatch
):
    calls = counting_decoder(monkeypatch)
    fresh, fresh_traces = run_all(members, tmp_path / "fresh", share=None)
    fresh_steps = calls["step"]
    calls["step"] = 0
    reused, reused_traces = run_all(members, tmp_path / "reused", share=DecodeShare())
    reused_steps = calls["step"]

    for m in METHODS:
        assert [comparable(o) for o in reused[m]] == [comparable(o) for o in fresh[m]], m
    # post's NFE is still the forwards of both members' decodes (what post costs on its own)
    for post, a, b in zip(reused["post"], reused["single:llada"], reused["single:dream"]):
        assert post.nfe == a.nfe + b.nfe
        assert post.wall_s >= a.wall_s + b.wall_s
    # the decoder ran only the singles' steps: post's half of the work is gone
    assert fresh_steps > 0 and reused_steps * 2 == fresh_steps
    for name in ("steps", "candidates"):
        a, b = fresh_traces[name], reused_traces[name]
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_like=False
        )
    assert set(reused_traces["steps"]["method"]) == set(METHODS)


def test_post_decodes_itself_when_the_options_differ(members, tmp_path, monkeypatch):
    """A per-method option (here normalise) changes what post computes: no reuse."""
    calls = counting_decoder(monkeypatch)
    prompts, rows = ["1+1?"], [{"id": "a", "gold": "2"}]
    share = DecodeShare()
    base = EnsembleOptions(interval=4)
    for m in ("single:llada", "single:dream"):
        run_method(m, members, prompts, TinyTask(), base, rows=rows, share=share)
    singles = calls["step"]
    other = EnsembleOptions(interval=4, normalise=False)
    run_method("post", members, prompts, TinyTask(), other, rows=rows, share=share)
    assert calls["step"] == 2 * singles
