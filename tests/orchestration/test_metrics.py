"""metrics.json numbers: accuracy in percent, best single model, paired delta and exact McNemar."""

from __future__ import annotations

import pytest

from tie.runs.metrics import compute_metrics


def rows(method: str, correct: list[bool]) -> list[dict]:
    return [
        {
            "id": f"q{i}",
            "method": method,
            "correct": c,
            "category": "ab"[i % 2],
            "nfe": 10,
            "wall_s": 0.5,
        }
        for i, c in enumerate(correct)
    ]


def test_paired_comparison_against_the_best_single_model():
    a = [True] * 6 + [False] * 4  # 60 %
    b = [True] * 4 + [False] * 6  # 40 %
    t = [True] * 10  # wins the 4 problems a missed, loses none
    data = rows("single:a", a) + rows("single:b", b) + rows("tie:tcc", t)
    m = compute_metrics(data, ["single:a", "single:b", "tie:tcc"], n_boot=500, seed=0)
    assert m["best_single"] == "single:a"
    assert m["methods"]["single:a"]["accuracy"] == pytest.approx(60.0)
    assert m["methods"]["tie:tcc"]["n_correct"] == 10
    assert m["methods"]["tie:tcc"]["wall_s"] == pytest.approx(5.0)
    assert m["methods"]["single:a"]["per_category"]["a"] == {"accuracy": 60.0, "n": 5}
    c = m["comparisons"]["tie:tcc"]
    assert c["delta"] == pytest.approx(40.0)
    assert (c["wins"], c["losses"]) == (4, 0)
    assert c["mcnemar_p"] == pytest.approx(2 * 0.5**4)
    assert c["ci95"][0] > 0  # always at least as good on every resample
    assert m["comparisons"]["single:b"]["delta"] == pytest.approx(-20.0)


def test_without_single_models_there_is_no_comparison():
    m = compute_metrics(rows("post", [True, False]), ["post"], n_boot=100)
    assert m["best_single"] is None and m["comparisons"] == {}


def test_budget_exits_are_counted_per_method():
    t = rows("tie:tcc", [True, False, True])
    t[1]["budget_exit"] = True  # rows written before the field existed have no key at all
    m = compute_metrics(rows("single:a", [True] * 3) + t, ["single:a", "tie:tcc"], n_boot=50)
    assert m["methods"]["tie:tcc"]["budget_exits"] == 1
    assert m["methods"]["single:a"]["budget_exits"] == 0
