"""The testbed's report pieces on hand-built rows: role bookkeeping of relay rounds, the premise
ratio as post reads it (the run-directory path: test_testbed_pipeline.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

from tie.tasks.synth_world import get_world

SCRIPTS = Path(__file__).resolve().parents[2] / "experiments" / "testbed"
sys.path.insert(0, str(SCRIPTS))  # the scripts import each other, as when run from there


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"testbed_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_round_roles_sorts_members_by_what_they_own():
    rr = load_script("round_roles")
    w = get_world()
    a, b = w.names[w.private(0)[0]], w.names[w.private(1)[0]]
    row = {"id": "p", "category": "mixed2", "reasoning": f"{a}=01;{b}=02;01+02=03;"}
    members = ["m0", "m1", "m2"]

    def rnd(j, scores, leader, tied):
        return [
            {"id": "p", "round": j, "model": m, "score_tcc": s, "leader": leader, "tied": tied}
            for m, s in zip(members, scores)
        ]

    # round 0 writes group 0's fact: m0 owner, m1 co-owner, m2 outsider; m1 wins a tie
    # round 1 writes group 1's fact: m1 owner, m0 co-owner; the owner wins outright
    rounds = rnd(0, [0.0, 0.0, -1.0], "m1", True) + rnd(1, [-0.5, 0.0, -0.5], "m1", False)
    stats = rr.tabulate([row], rounds, members)["mixed2"]
    assert stats["fact_rounds"] == 2 and stats["tied"] == 0.5
    assert stats["owner"] == {"no_change": 1.0, "mean_change": 0.0, "led": 0.5}
    assert stats["co-owner"] == {"no_change": 0.5, "mean_change": 0.25, "led": 0.5}
    assert stats["outsider"] == {"no_change": 0.0, "mean_change": 0.75, "led": 0.0}
    assert stats["owner_lost"] == {"tied": 0.5, "outright": 0.0}  # round 0, on the tie
    assert stats["count_overrode_key"] is None  # rounds logged without tie keys

    # with the tie keys logged: round 0's leader m1 is not the most confident (m0), round 1's is
    for r, key in zip(rounds, [0.9, 0.5, 0.2, 0.3, 0.8, 0.1]):
        r["tie_key"] = key
    stats = rr.tabulate([row], rounds, members)["mixed2"]
    assert stats["count_overrode_key"] == 0.5
    assert stats["owner_surest"] == 1.0  # m0 in round 0, m1 in round 1


def test_post_premise_labels_posts_counts_by_each_members_own_correctness():
    from analysis.testbed import post_premise

    preds = pd.DataFrame(
        [
            {"id": "p0", "method": "single:a", "correct": True, "candidates": []},
            {"id": "p1", "method": "single:a", "correct": False, "candidates": []},
            {"id": "p0", "method": "single:b", "correct": False, "candidates": []},
            {"id": "p1", "method": "single:b", "correct": False, "candidates": []},
            {"id": "p0", "method": "post", "correct": True, "candidates": [
                {"model": "a", "change_count": 0.5}, {"model": "b", "change_count": 3.0}]},
            {"id": "p1", "method": "post", "correct": False, "candidates": [
                {"model": "a", "change_count": 2.0}, {"model": "b", "change_count": 1.0}]},
        ]
    )  # fmt: skip
    prem = post_premise(preds)
    assert prem["tcc_correct"] == 0.5 and prem["tcc_incorrect"] == 2.0  # (3 + 2 + 1) / 3
    assert prem["ratio"] == 4.0
    assert post_premise(preds[preds["method"] == "post"]) is None  # no single runs: no labels
    assert post_premise(preds[preds["method"] != "post"]) is None  # no post
