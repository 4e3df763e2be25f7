"""A new rule is one registration plus its config entry: a scoring defined here runs through the
loop by name, and every place that checks names (options, the run plan, bench) accepts it."""

from __future__ import annotations

import json
import subprocess
import sys

import fake_decoding as fd
import pytest
from test_engine import cons, flaky, run, stable

from tie.ensemble import EnsembleOptions, trajectory
from tie.ensemble.registry import (
    BRIDGES,
    CHANGE_POSITIONS,
    FINAL_SELECTIONS,
    METHODS,
    SCORINGS,
    TIE_RULES,
    register_scoring,
)
from tie.tracing import Tracer, read_traces


@pytest.fixture(autouse=True)
def fake_decoder(monkeypatch):
    monkeypatch.setattr(trajectory, "decoding_api", lambda: (fd.Decoder, fd.build_canvas))


@pytest.fixture
def doubtful():
    """`tie:doubtful`: the least confident trajectory of the round leads (last step's top-1)."""

    @register_scoring("doubtful")
    def doubtful(r):
        return -r.scores["top1"]

    yield doubtful
    SCORINGS.unregister("doubtful")


def test_a_registered_scoring_runs_through_the_loop_by_name(doubtful, tmp_path):
    calm, sure = cons("C", stable("42", peak=1.0)), cons("F", flaky(peak=5.0))
    opts = EnsembleOptions(interval=4, tie_break="model_order", cross_model=False)
    (top1,) = run("tie:top1", [calm, sure], opts=opts)
    with Tracer(tmp_path) as tracer:
        (mine,) = run("tie:doubtful", [calm, sure], opts=opts, tracer=tracer)
    assert top1.leaders == ["F", "F"] and mine.leaders == ["C", "C"]
    assert mine.method == "tie:doubtful"
    rounds = read_traces(tmp_path)["rounds"]
    assert set(rounds["selecting"]) == {"doubtful"} and (rounds["leader"] == "C").all()
    assert EnsembleOptions(scoring="doubtful").scoring == "doubtful"


def test_names_are_read_from_the_registries(doubtful):
    from tie.bench.runner import check_methods, default_methods
    from tie.runs.plan import expand_methods

    assert expand_methods(["tie"], ["tcc", "doubtful"], ["a", "b"]) == ["tie:tcc", "tie:doubtful"]
    assert "tie:doubtful" in default_methods(["a", "b"])
    check_methods(["tie:doubtful"], ["a", "b"])
    with pytest.raises(ValueError, match="unknown scoring 'nope'; valid: .*doubtful"):
        SCORINGS.get("nope")


def test_builtin_rules_and_their_status():
    assert SCORINGS.names() == ["tcc", "top1", "entropy", "margin"]
    assert set(TIE_RULES) == {"own_top1", "tracked_top1", "incumbent", "model_order", "random"}
    assert FINAL_SELECTIONS.names() == ["lowest_tcc", "best_model", "most_selected"]
    assert BRIDGES.names() == ["drop", "offsets", "chars"]
    assert CHANGE_POSITIONS.names() == ["answer", "answer_and_block"]
    assert set(METHODS) == {"single", "post", "tie", "avg", "vote", "oracle"}
    experimental = {
        n for n in TIE_RULES if getattr(TIE_RULES.get(n), "status", "") == "experimental"
    }
    assert experimental == {"tracked_top1", "incumbent"}
    assert getattr(CHANGE_POSITIONS.get("answer_and_block"), "status", "") == "experimental"


def test_names_and_tags_are_known_without_torch_and_match_the_registered_rules():
    """A config check reads every registry without importing a rule (torch): the names and
    literal tags read from the built-in modules' source are exactly what importing registers.
    A rule registered in a form that read cannot see fails here. (One subprocess, ~5 s.)"""
    code = (
        "import json, sys\n"
        "from tie.ensemble import registry as r\n"
        "regs = [r.SCORINGS, r.TIE_RULES, r.FINAL_SELECTIONS, r.BRIDGES, r.CHANGE_POSITIONS,"
        " r.METHODS]\n"
        "light = {g.kind: [g.names(), g.declared()] for g in regs}\n"
        "assert 'torch' not in sys.modules\n"
        "r.SCORINGS.get('tcc')\n"
        "assert 'torch' in sys.modules\n"
        "tags = lambda g, n: {k: getattr(g.get(n), k, '<unset>') for k in g.declared()[n]}\n"
        "loaded = {g.kind: [g.names(), {n: tags(g, n) for n in g.names()}] for g in regs}\n"
        "print(json.dumps([light, loaded]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    light, loaded = json.loads(proc.stdout)
    assert light == loaded
    assert light["scoring"][1]["tcc"] == {"counts": True}
