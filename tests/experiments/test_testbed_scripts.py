"""The testbed's report scripts: role bookkeeping of relay rounds and paired variant tables."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

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


def _write(root: Path, tag: str, seed: int, rows: list[dict]) -> None:
    (root / tag).mkdir(parents=True)
    cfg = {"task": "synth_math", "split": "dev", "seed": seed, "n": 4, "mix": "default"}
    (root / tag / "metrics.json").write_text(json.dumps({"config": cfg, "methods": {}}))
    (root / tag / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _rows(method: str, correct: list[bool], leaders: list[str] | None = None) -> list[dict]:
    return [
        {"id": f"p{i}", "method": method, "category": "single" if i < 2 else "mixed2",
         "correct": c, "leaders": leaders or []}
        for i, c in enumerate(correct)
    ]  # fmt: skip


def test_variants_table_pairs_each_variant_with_post(tmp_path, monkeypatch):
    v = load_script("variants")
    monkeypatch.setattr(v, "RESULTS", tmp_path)
    _write(tmp_path, "base", 8, _rows("post", [True, False, False, False]))
    _write(tmp_path, "var", 8, _rows("tie:tcc", [True, True, True, False], ["a", "b", "b"]))
    text = v.table("base", [("x", "var")], n_boot=200)
    line = next(ln for ln in text.splitlines() if ln.startswith("| x |"))
    # 75% vs 25% (+50 points); per category mixed2 50%, single 100%; leader change 1 of 2
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "75.0" and cells[2].startswith("+50.0")
    assert cells[3:] == ["50.0", "100.0", "0.50"]
    _write(tmp_path, "other", 9, _rows("tie:tcc", [True] * 4))
    with pytest.raises(ValueError, match="seed"):
        v.table("base", [("y", "other")])


def test_pooled_concatenates_seeds_and_checks_pairing(tmp_path, monkeypatch):
    pooled = load_script("pooled")
    monkeypatch.setattr(pooled.variants, "RESULTS", tmp_path)
    _write(tmp_path, "s1", 1, _rows("post", [True, False, False, False]))
    _write(tmp_path, "s2", 2, _rows("post", [True, True, False, False]))
    with open(tmp_path / "s1" / "predictions.jsonl", "a") as f:
        for r in _rows("tie:tcc", [True, True, True, False]):
            f.write(json.dumps(r) + "\n")
    with open(tmp_path / "s2" / "predictions.jsonl", "a") as f:
        for r in _rows("tie:tcc", [True, True, False, False]):
            f.write(json.dumps(r) + "\n")
    text = pooled.table(["s1", "s2"], "tie:tcc", "post", n_boot=200)
    rows = {ln.split("|")[1].strip(): ln for ln in text.splitlines()[2:]}
    assert set(rows) == {"s1", "s2", "pooled"}
    cells = [c.strip() for c in rows["pooled"].strip("|").split("|")]
    assert cells[1:4] == ["8", "62.5", "37.5"] and cells[4].startswith("+25.0")
    _write(tmp_path, "bad", 3, _rows("post", [True] * 4) + _rows("tie:tcc", [True] * 3))
    with pytest.raises(ValueError, match="different problems"):
        pooled.table(["bad"], "tie:tcc", "post")


def test_post_premise_labels_posts_counts_by_each_members_own_correctness():
    measure = load_script("measure")
    by = {
        "single:a": [{"id": "p0", "correct": True}, {"id": "p1", "correct": False}],
        "single:b": [{"id": "p0", "correct": False}, {"id": "p1", "correct": False}],
        "post": [
            {"id": "p0", "change_counts": {"a": 0.5, "b": 3.0}},
            {"id": "p1", "change_counts": {"a": 2.0, "b": 1.0}},
        ],
    }
    prem = measure.post_premise(by)
    assert prem["tcc_correct"] == 0.5 and prem["tcc_incorrect"] == 2.0  # (3 + 2 + 1) / 3
    assert prem["ratio"] == 4.0
    assert measure.post_premise({"post": by["post"]}) is None  # no single runs: no labels


def test_cards_say_which_relay_rules_each_run_used(tmp_path, monkeypatch):
    cards = load_script("cards")
    monkeypatch.setattr(cards, "RESULTS", tmp_path)
    for tag, cfg in {
        "paper": {},
        "look": {"count_last_commit": True},
        "look2": {"count_last_commit": True},
        "block": {
            "change_positions": "answer_and_block",
            "count_last_commit": False,
            "tie_break": "tracked_top1",
            "relay_tie_break": "tracked_top1 (ties by block)",
        },
    }.items():
        (tmp_path / tag).mkdir()
        (tmp_path / tag / "metrics.json").write_text(json.dumps({"config": cfg}))
    assert cards._relay_rules(["paper"]) == "; relay-score tie rule own_top1"
    block = cards._relay_rules(["block", "block"])
    assert block.startswith("; relay-score tie rule tracked_top1 (ties by block); the token change")
    mixed = cards._relay_rules(["paper", "look", "block", "look2"])
    assert mixed.startswith(
        "; paper: relay-score tie rule own_top1; look, look2: relay-score tie rule own_top1; each "
        "round ends"
    )
    assert "; block: relay-score tie rule tracked_top1 (ties by block); the token change" in mixed


def test_plot_draws_every_runs_difference_and_categories(tmp_path, monkeypatch):
    plot = load_script("plot")
    monkeypatch.setattr(plot, "RESULTS", tmp_path)
    vs_post = {"delta": 16.0, "ci95": [11.6, 20.4], "p": 0.0}
    for tag, cfg in {
        "block": {"seed": 1005, "mix": "default", "change_positions": "answer_and_block",
                  "tie_break": "tracked_top1", "tie_tolerance": 0.25},
        "paper": {"seed": 1001, "mix": "default", "count_last_commit": True},
    }.items():  # fmt: skip
        methods = {
            "single:a": {"per_category": {"single": 30.0, "mixed2": 5.0}},
            "post": {"per_category": {"single": 90.0, "mixed2": 5.0}},
            "tie:tcc": {"per_category": {"single": 80.0, "mixed2": 60.0}, "vs_post": vs_post},
        }
        (tmp_path / tag).mkdir()
        metrics = {"config": cfg, "methods": methods, "best_single": "single:a"}
        (tmp_path / tag / "metrics.json").write_text(json.dumps(metrics))
    written = plot.plot(["block", "paper"], tmp_path / "fig", category_tags=["block"])
    assert sorted(p.name for p in written) == [
        "per_category.csv", "per_category.png", "tie_vs_post.csv", "tie_vs_post.png"
    ]  # fmt: skip
    d = plot.deltas(plot.load(["block", "paper"]))
    assert d["setting"].tolist() == [
        "answer + block (tracked_top1, ties within 0.25)",
        "answer (own_top1, look-ahead)",
    ]
    assert d["ci_low"].tolist() == [11.6, 11.6]
    cats = pd.read_csv(tmp_path / "fig" / "per_category.csv")
    assert set(cats["tag"]) == {"block"} and len(cats) == 6  # three methods x two categories
