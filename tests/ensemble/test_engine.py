"""Pin the TIE cycle on hand-built cases: a predictable decoder and scripted answer logits."""

from __future__ import annotations

import fake_decoding as fd
import pytest
import torch
from fakes import TinyTask

from tie.ensemble import run_method, trajectory
from tie.ensemble.cycle import CycleRecord, CycleSpec
from tie.ensemble.loop import tie_round
from tie.ensemble.options import Constituent, EnsembleOptions
from tie.ensemble.registry import SCORINGS
from tie.ensemble.trace import NoObserver
from tie.tracing import Tracer, read_traces, recompute_round_tcc

torch.set_num_threads(1)


def EchoTask() -> TinyTask:
    """The tiny task with a one-token suffix "=" and an 8 + 2 canvas."""
    return TinyTask(8, 2, answer_suffix="=", name="echo")


@pytest.fixture(autouse=True)
def fake_decoder(monkeypatch):
    monkeypatch.setattr(trajectory, "decoding_api", lambda: (fd.Decoder, fd.build_canvas))


def n_masks(ids, tok):
    return ids.count(tok.mask_token_id)


def stable(chars="42", peak=3.0):
    return lambda ids, tok: (list(chars), peak)


def flaky(peak=3.0):
    """Answer top-1 swaps every step (parity of the masks left): '13' / '31'."""
    return lambda ids, tok: (["1", "3"] if n_masks(ids, tok) % 2 == 0 else ["3", "1"], peak)


def cons(name, answer_fn, variant="a", **kw):
    return Constituent(name, fd.scripted(variant, answer_fn, name=name, **kw), fd.FakeConfig())


def run(method, members, prompts=("q",), opts=None, tracer=None, rows=None, task=None):
    return run_method(
        method,
        members,
        list(prompts),
        task or EchoTask(),
        opts or EnsembleOptions(interval=4),
        tracer=tracer,
        rows=rows,
    )


def test_tcc_relay_copies_leader_and_selects_stable(tmp_path):
    s, f = cons("S", stable()), cons("F", flaky())
    with Tracer(tmp_path) as tracer:
        (out,) = run("tie:tcc", [s, f], tracer=tracer, rows=[{"id": "p0", "gold": "42"}])
    assert out.prediction == "42" and out.selected_model == "S"
    assert out.leaders == ["S", "S"]  # rounds 0, 1 relay; round 2 completes -> no relay
    assert out.nfe == 20  # 10 steps each; token-change TIE costs no extra forward
    cand = {c["model"]: c for c in out.candidates}
    # F: 3 changes in each of rounds 0 and 1 (normalised by |A|=2), 0.5 in the answer round
    assert cand["F"]["change_count"] == pytest.approx(6.5)
    assert cand["S"]["change_count"] == 0.0 and cand["F"]["text"] == "11"
    t = read_traces(tmp_path)
    rounds = t["rounds"]
    assert len(rounds) == 6 and rounds["relayed"].tolist() == [True] * 4 + [False] * 2
    assert rounds[(rounds.model == "F") & rounds.relayed]["replaced"].all()
    assert set(rounds[rounds.replaced]["bridge"]) == {"copy"}
    assert t["candidates"]["selected"].tolist() == [True, False]
    assert t["candidates"]["correct"].tolist() == [True, False]
    assert len(t["steps"]) == 20


def test_round_scores_recompute_from_steps_and_leader_is_argmax(tmp_path):
    prompts = ["q", "xq", "xxq"]
    members = [cons("S", stable()), cons("F", flaky()), cons("G", flaky(peak=4.0))]
    with Tracer(tmp_path) as tracer:
        run("tie:tcc", members, prompts, tracer=tracer)
    t = read_traces(tmp_path)
    again = recompute_round_tcc(t["steps"]).set_index(["id", "method", "round", "model"])
    logged = t["rounds"].set_index(["id", "method", "round", "model"])
    assert len(logged) == len(again) == 3 * 3 * 3
    assert again["score_tcc"].reindex(logged.index).values == pytest.approx(
        logged["score_tcc"].values
    )
    for _, grp in t["rounds"].groupby(["id", "round"]):
        best = grp["score_tcc"].max()
        top = grp[grp["score_tcc"] >= best - 1e-9]
        assert grp["leader"].iloc[0] in set(top["model"])


def test_state_replacement_makes_canvases_equal_after_relay():
    s, f = cons("S", stable()), cons("F", flaky())
    members = [trajectory.Trajectory(c, ["q"], EchoTask(), EnsembleOptions()) for c in (s, f)]
    for m in members:
        m.decode(4, 0, NoObserver())
    before = members[0].state.x.clone()
    spec = CycleSpec(EnsembleOptions(interval=4), "tcc", 4)
    record = CycleRecord.empty(2, 1, 0)
    tie_round(
        members, spec, SCORINGS.get("tcc"), record, torch.ones(1, dtype=torch.bool), 0, NoObserver()
    )
    assert torch.equal(members[1].state.x, before)
    assert members[1].state.replaced == [("copy", [0])] and members[0].state.replaced == []
    assert not members[1].whole_valid[0] and members[0].whole_valid[0]


def test_single_and_post():
    s, f = cons("S", stable()), cons("F", flaky())
    (single,) = run("single:F", [s, f])
    assert single.prediction == "11" and single.nfe == 10 and single.leaders == []
    (post,) = run("post", [s, f])
    assert post.prediction == "42" and post.nfe == 20 and post.leaders == []


def test_tie_break_own_top1_then_model_order():
    low, high = cons("L", stable("42", peak=2.0)), cons("H", stable("77", peak=4.0))
    (out,) = run("tie:tcc", [low, high])
    assert out.leaders == ["H", "H"]  # all scores 0: higher own top-1 leads
    assert out.selected_model == "H"  # final tie on count: higher mean top-1
    (out,) = run("tie:tcc", [low, high], opts=EnsembleOptions(interval=4, tie_break="model_order"))
    assert out.leaders == ["L", "L"]


def test_tie_tolerance_hands_close_rounds_to_the_confident_member(tmp_path):
    """A flaky but confident member loses every round on the count alone; when its count is
    within the tolerance the tie rule (own top-1) decides, and the round log shows the key."""
    calm, sure = cons("C", stable("42", peak=1.0)), cons("F", flaky(peak=5.0))
    (exact,) = run("tie:tcc", [calm, sure])
    assert exact.leaders == ["C", "C"]
    opts = EnsembleOptions(interval=4, experimental={"tie_tolerance": 100.0})
    with Tracer(tmp_path) as tracer:
        (loose,) = run("tie:tcc", [calm, sure], opts=opts, tracer=tracer)
    assert loose.leaders == ["F", "F"]
    rounds = read_traces(tmp_path)["rounds"]
    assert rounds["tied"].all() and (rounds["tie_rule"] == "own_top1").all()
    keys = rounds.set_index(["round", "model"])["tie_key"]
    assert (keys.xs("F", level="model") > keys.xs("C", level="model")).all()
    # final selection keeps exact ties: the calm member's lower whole-decode count still wins
    (post,) = run("post", [calm, sure], opts=opts)
    assert post.selected_model == "C"
    # the tolerance is in change-count units: a logit scoring keeps exact ties (the sure member
    # leads on top-1; were its 0.x lead within the tolerance, model order would pick C)
    by_order = {"interval": 4, "tie_break": "model_order", "cross_model": False}
    (exact,) = run("tie:top1", [calm, sure], opts=EnsembleOptions(**by_order))
    (loose,) = run(
        "tie:top1",
        [calm, sure],
        opts=EnsembleOptions(**by_order, experimental={"tie_tolerance": 100.0}),
    )
    assert exact.leaders == loose.leaders == ["F", "F"]


def test_final_selection_variants():
    s, f = cons("S", stable()), cons("F", flaky())
    opts = EnsembleOptions(interval=4, final_selection="best_model", best_model="F")
    assert run("tie:tcc", [s, f], opts=opts)[0].prediction == "11"
    opts = EnsembleOptions(interval=4, final_selection="most_selected")
    assert run("tie:tcc", [s, f], opts=opts)[0].selected_model == "S"
    opts = EnsembleOptions(interval=4, selection_tcc="last_round")
    cand = {c["model"]: c for c in run("tie:tcc", [s, f], opts=opts)[0].candidates}
    assert cand["F"]["change_count"] == pytest.approx(0.5)


def test_eos_exclusion_and_first_k_cap():
    def eos_flip(ids, tok):  # position 0 stable '5'; position 1 flips between two EOS ids
        return ["5", "<eos>" if n_masks(ids, tok) % 2 else "<eot>"], 3.0

    def count(**a_t):  # A(t) is each constituent's DecodeConfig
        cfg = fd.FakeConfig(**a_t)
        members = [cons("E", eos_flip), cons("S", stable())]
        members = [Constituent(c.name, c.backend, cfg) for c in members]
        (out,) = run("post", members)
        return out.candidates[0]["change_count"]

    assert count() == 0.0  # EOS predictions are not answer positions
    assert count(exclude_eos_from_answer=False) == pytest.approx(9 * 0.5)  # 1 of |A|=2 moves
    assert count(exclude_eos_from_answer=False, eos_answer_cap=1) == 0.0  # the first only


def test_m3_each_problem_has_its_own_leader():
    def stable_if(flag):
        def fn(ids, tok):
            has_x = tok.convert_tokens_to_ids("x") in ids
            return (["4", "2"], 3.0) if has_x == flag else flaky()(ids, tok)

        return fn

    members = [cons("A", flaky()), cons("B", stable_if(True)), cons("C", stable_if(False))]
    outs = run("tie:tcc", members, ["xq", "q"])
    assert [o.leaders for o in outs] == [["B", "B"], ["C", "C"]]
    assert [o.selected_model for o in outs] == ["B", "C"]
    assert all(o.prediction == "42" for o in outs)


def _conf_by_reasoning(base):
    def fn(ids, tok):  # answer confidence rises with the number of 'g' in the canvas
        return ["4", "2"], base + 0.25 * ids.count(tok.convert_tokens_to_ids("g"))

    return fn


def test_cross_model_vs_source_only_logit_scoring():
    s = cons("S", _conf_by_reasoning(1.0), reason_text="g")
    f = cons("F", _conf_by_reasoning(3.0), reason_text="b")
    (cross,) = run("tie:top1", [s, f])
    assert cross.leaders[0] == "S"
    assert cross.nfe == 20 + 2 * 4  # two relayed rounds x (2 trajectories x 2 scorers)
    (source,) = run("tie:top1", [s, f], opts=EnsembleOptions(interval=4, cross_model=False))
    assert source.leaders[0] == "F"
    assert source.nfe == 20 + 2 * 2
    # calibration: a high temperature on F flattens its confidence, so S wins source-only
    opts = EnsembleOptions(interval=4, cross_model=False, calibration={"F": 50.0})
    assert run("tie:top1", [s, f], opts=opts)[0].leaders[0] == "S"


def test_cross_tokenizer_relay_goes_through_text(tmp_path):
    s, f = cons("S", stable()), cons("F", flaky(), variant="b")
    with Tracer(tmp_path) as tracer:
        (out,) = run("tie:tcc", [s, f], tracer=tracer)
    assert out.prediction == "42" and out.leaders == ["S", "S"]
    rounds = read_traces(tmp_path)["rounds"]
    replaced = rounds[rounds.replaced]
    assert set(replaced["bridge"]) == {"text"} and set(replaced["model"]) == {"F"}
    assert (replaced["tokens_dropped"] == 0).all() and not replaced["roundtrip_mismatch"].any()
    # the relayed reasoning arrives as b-tokens at the start of F's region
    members = [trajectory.Trajectory(c, ["q"], EchoTask(), EnsembleOptions()) for c in (s, f)]
    for m in members:
        m.decode(4, 0, NoObserver())
    spec = CycleSpec(EnsembleOptions(interval=4), "tcc", 4)
    record = CycleRecord.empty(2, 1, 0)
    tie_round(
        members, spec, SCORINGS.get("tcc"), record, torch.ones(1, dtype=torch.bool), 0, NoObserver()
    )
    fb = f.backend
    p = members[1].layout.prompt_len
    region = members[1].state.x[0, p : p + 8].tolist()
    assert fb.tokenizer.decode(region[:4]) == "rrrr" and region[4:] == [fb.mask_id] * 4


def test_bad_input_raises_before_compute():
    s, f = cons("S", stable()), cons("F", flaky())
    with pytest.raises(ValueError, match="no constituent named"):
        run("single:Z", [s, f])
    with pytest.raises(ValueError, match="unknown method"):
        run("ties", [s, f])
    with pytest.raises(ValueError, match="unique"):
        run("post", [s, s])
    with pytest.raises(ValueError, match="at least two"):
        run("tie:tcc", [s])
    with pytest.raises(ValueError, match="best_model"):
        run("post", [s, f], opts=EnsembleOptions(final_selection="best_model", best_model="Q"))
    assert s.backend.calls == 0


def test_injection_flips_wrong_to_right():
    from tie.ensemble.injection import run_injection

    def follow_reasoning(ids, tok):  # answers '42' iff A's reasoning char 'g' is in the canvas
        good = tok.convert_tokens_to_ids("g") in ids
        return (["4", "2"] if good else ["1", "1"]), 3.0

    a = cons("A", stable(), reason_text="g")
    b = cons("B", follow_reasoning, variant="b", reason_text="b")
    recs = run_injection(a, b, ["q"], EchoTask(), [{"id": "p", "gold": "42"}], ratios=(0.0, 0.5))
    by_ratio = {r["ratio"]: r for r in recs}
    assert by_ratio[0.0]["injected_correct"] is False and not by_ratio[0.0]["flipped"]
    r = by_ratio[0.5]
    assert (
        r["source_correct"] and not r["target_correct"] and r["injected_correct"] and r["flipped"]
    )
    assert r["inject_step"] == 5 and r["source_steps"] == 10
    with pytest.raises(ValueError, match="ratios"):
        run_injection(a, b, ["q"], EchoTask(), [{"id": "p", "gold": "42"}], ratios=(1.5,))
