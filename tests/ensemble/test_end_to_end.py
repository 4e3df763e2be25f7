"""Every method through the real decoder on tiny random-initialised LLaDA and Dream models.

The two members have different tokenizers (cross-tokenizer relay and scoring), a third LLaDA
member shares the first one's tokenizer (id copy). The same assertions run on the shipped zoo
pair `zoo:llada-a` + `zoo:dream-b` on synth_math (test_zoo_pair)."""

from __future__ import annotations

import pytest
import torch
from fakes import TinyTask

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.tracing import Tracer, read_traces, recompute_round_tcc

torch.set_num_threads(1)

METHODS = ["single:llada", "post", "tie:tcc", "tie:top1", "tie:entropy", "tie:margin"]


def assert_rounds_explain_leaders(t: dict) -> None:
    """The traces explain every round: tie:tcc's logged round scores are what its step rows add
    up to, and each round's leader has the top score under the rule that selected it."""
    tcc = t["steps"][t["steps"].method == "tie:tcc"]
    logged = t["rounds"][t["rounds"].method == "tie:tcc"].set_index(["id", "round", "model"])
    again = recompute_round_tcc(tcc).set_index(["id", "round", "model"]).reindex(logged.index)
    assert again["score_tcc"].values == pytest.approx(logged["score_tcc"].values)
    for _, grp in t["rounds"].groupby(["id", "method", "round"]):
        col = "score_" + grp["selecting"].iloc[0]
        top = grp[grp[col] >= grp[col].max() - 1e-9]
        assert grp["leader"].iloc[0] in set(top["model"])


@pytest.mark.parametrize("n_members", [2, 3])
def test_every_method_runs_and_traces_explain_leaders(tiny_members, tmp_path, n_members):
    members = tiny_members
    prompts = ["1+1?", "What is 2 and 3?"]
    rows = [{"id": "a", "gold": "2"}, {"id": "b", "gold": "5"}]
    opts = EnsembleOptions(interval=4)
    with Tracer(tmp_path) as tracer:
        results = {
            m: run_method(m, members[:n_members], prompts, TinyTask(), opts, tracer, rows=rows)
            for m in METHODS
        }
    steps_per_model = 16 + 4  # one token per step over reasoning + answer
    for method, outs in results.items():
        assert len(outs) == 2
        for out in outs:
            assert out.selected_model in [c.name for c in members[:n_members]]
            assert len(out.candidates) == (1 if method.startswith("single") else n_members)
            base = steps_per_model * len(out.candidates)
            if method in ("single:llada", "post", "tie:tcc"):
                assert out.nfe == base  # token-change TIE: no forward beyond the constituents
            else:
                per_round = n_members * n_members  # cross-model: every (trajectory, scorer)
                assert out.nfe == base + per_round * len(out.leaders)
            if method.startswith("tie"):
                assert len(out.leaders) == steps_per_model // 4 - 1
    t = read_traces(tmp_path)
    assert_rounds_explain_leaders(t)
    bridges = set(t["rounds"][t["rounds"].replaced]["bridge"])
    assert "text" in bridges  # llada <-> dream goes through text
    if n_members == 3:
        assert "copy" in bridges or not (t["rounds"].leader == "llada").any()
    cands = t["candidates"]
    assert (cands.groupby(["id", "method"])["selected"].sum() == 1).all()


def test_baselines_on_same_tokenizer_pair(tiny_members):
    members = tiny_members
    pair = [members[0], members[2]]  # two LLaDA models sharing one tokenizer
    rows = [{"id": "a", "gold": "2"}]
    for method in ("avg:mean", "avg:product", "vote", "oracle"):
        (out,) = run_method(method, pair, ["1+1?"], TinyTask(), EnsembleOptions(), rows=rows)
        assert out.nfe == 2 * 20, method
    with pytest.raises(ValueError, match="share one tokenizer"):
        run_method("avg:mean", members[:2], ["1+1?"], TinyTask(), EnsembleOptions(), rows=rows)


ZOO_METHODS = ["single:llada-a", "single:dream-b", "post",
               "tie:tcc", "tie:top1", "tie:entropy", "tie:margin"]  # fmt: skip


def test_zoo_pair(tmp_path):
    """Issue 3: every method on the shipped zoo pair llada-a + dream-b (different tokenizers, so
    relays and cross-model scoring go through text), 3 synth_math problems, testbed decoding
    (blocks of 8, interval 8 as in experiments/testbed/measure.py)."""
    from tie.models import load_backend
    from tie.tasks import get_task

    task = get_task("synth_math", split="test", seed=0, n=3)
    rows = task.load().to_list()
    prompts = [task.build_prompt(r) for r in rows]
    decode = DecodeConfig(block_length=8, rounding="ceil")
    pair = [Constituent(m, load_backend(f"zoo:{m}"), decode) for m in ("llada-a", "dream-b")]
    opts = EnsembleOptions(interval=8)
    with Tracer(tmp_path) as tracer:
        results = {
            m: run_method(m, pair, prompts, task, opts, tracer, rows=rows) for m in ZOO_METHODS
        }
    steps = task.budget.reasoning_len + task.budget.answer_len  # one token per step
    for method, outs in results.items():
        assert len(outs) == 3, method
        for out in outs:
            assert out.selected_model in ("llada-a", "dream-b")
            assert out.nfe > 0 and out.wall_s > 0
            if method.startswith("tie"):
                assert out.leaders and set(out.leaders) <= {"llada-a", "dream-b"}
    singles = [results[f"single:{m}"] for m in ("llada-a", "dream-b")]
    for i in range(3):
        single_nfe = sum(s[i].nfe for s in singles)
        assert single_nfe <= 2 * steps
        assert results["post"][i].nfe == single_nfe
        assert results["tie:tcc"][i].nfe <= single_nfe * 1.02
        for m in ("tie:top1", "tie:entropy", "tie:margin"):  # + every (trajectory, scorer) pair
            scoring = 2 * 2 * len(results[m][i].leaders)
            assert scoring < results[m][i].nfe <= single_nfe * 1.02 + scoring
    t = read_traces(tmp_path)
    assert_rounds_explain_leaders(t)
    assert set(t["rounds"]["method"]) == {"tie:tcc", "tie:top1", "tie:entropy", "tie:margin"}
    replaced = t["rounds"][t["rounds"].replaced]
    assert set(replaced["bridge"]) <= {"text"} and len(replaced) > 0  # cross-vocabulary relays
    assert (t["candidates"].groupby(["id", "method"])["selected"].sum() == 1).all()
