"""Token change count C(T) recomputed from hand-built steps.parquet rows with known counts."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.change_count import change_counts, check_round_scores, round_scores, step_changes
from analysis.rundir import RunDirError


def _steps(rows: list[tuple[int, int, list[int], list[bool]]], model: str = "m") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": "p",
                "method": "single:m",
                "model": model,
                "round": r,
                "step": s,
                "answer_top1": top1,
                "in_A": in_a,
            }
            for r, s, top1, in_a in rows
        ]
    )


# Known trajectory: changes counted only at positions in A(t).
KNOWN = [
    (0, 0, [5, 6, 7, 2], [True, True, True, False]),
    (0, 1, [5, 9, 7, 3], [True, True, True, False]),  # pos1 changed (in A); pos3 not in A(0)
    (0, 2, [8, 9, 1, 3], [False, True, True, True]),  # pos0 and pos2 changed, both in A(1)
    (0, 3, [8, 9, 1, 4], [False, False, False, False]),  # pos3 changed, in A(2) = {1, 2, 3}
    (0, 4, [8, 9, 1, 5], [False, False, False, False]),  # A(3) empty: contributes 0
]


def test_token_change_count_counts_only_answer_positions_in_A():
    per_step = step_changes(_steps(KNOWN))
    assert per_step["n_changed"].tolist() == [1, 2, 1, 0, 0]
    assert per_step["n_A"].tolist() == [3, 3, 3, 0, 0]
    counts = change_counts(_steps(KNOWN))
    assert counts.loc[0, "tcc"] == 4
    assert counts.loc[0, "tcc_norm"] == pytest.approx(1 / 3 + 2 / 3 + 1 / 3)


def test_normalised_change_count_empty_A_contributes_zero():
    rows = [(0, 0, [1, 2], [False, False]), (0, 1, [3, 4], [False, False])]
    counts = change_counts(_steps(rows))
    assert counts.loc[0, "tcc"] == 0 and counts.loc[0, "tcc_norm"] == 0


def test_change_count_does_not_cross_a_relay_boundary():
    rows = [
        (0, 0, [1, 1], [True, True]),
        (0, 1, [1, 2], [True, True]),  # 1 change inside round 0
        (1, 2, [7, 7], [True, True]),  # relay: state replaced, not a change
        (1, 3, [7, 8], [True, True]),  # 1 change inside round 1
    ]
    steps = _steps(rows)
    assert change_counts(steps).loc[0, "tcc"] == 2
    per_round = round_scores(steps).set_index("round")
    assert per_round.loc[0, "score_tcc"] == pytest.approx(-0.5)
    assert per_round.loc[1, "score_tcc"] == pytest.approx(-0.5)


def test_commit_equal_to_previous_top1_is_no_change():
    rows = [
        (0, 0, [4, 5], [True, True]),
        (0, 1, [4, 5], [False, True]),  # position 0 committed its top-1 (4): no change
        (0, 2, [4, 6], [False, True]),  # position 1 flips: 1 change
    ]
    assert change_counts(_steps(rows)).loc[0, "tcc"] == 1


def test_change_count_independent_of_row_order_and_per_model():
    steps = pd.concat([_steps(KNOWN, "a"), _steps(KNOWN[:3], "b")]).sample(frac=1, random_state=1)
    counts = change_counts(steps).set_index("model")
    assert counts.loc["a", "tcc"] == 4
    assert counts.loc["b", "tcc"] == 3


def test_change_count_rejects_mismatched_lists():
    with pytest.raises(RunDirError, match="in_A"):
        step_changes(_steps([(0, 0, [1, 2, 3], [True, True])]))
    with pytest.raises(RunDirError, match="missing column"):
        step_changes(pd.DataFrame({"id": ["p"]}))


def test_recomputed_round_scores_match_logged_ones(fixture_runs):
    steps = pd.read_parquet(fixture_runs / "main" / "traces" / "steps.parquet")
    rounds = pd.read_parquet(fixture_runs / "main" / "traces" / "rounds.parquet")
    assert check_round_scores(steps, rounds).empty
    rounds.loc[0, "score_tcc"] -= 0.5
    bad = check_round_scores(steps, rounds)
    assert len(bad) == 1 and bad.loc[0, "round"] == rounds.loc[0, "round"]


def test_change_count_agrees_with_the_engine_trace_check(fixture_runs):
    """analysis.change_count and tie.tracing.checks must define C(T) the same way."""
    from tie.tracing.checks import recompute_round_tcc

    steps = pd.read_parquet(fixture_runs / "main" / "traces" / "steps.parquet")
    ours = round_scores(steps).set_index(["id", "method", "round", "model"])["score_tcc"]
    theirs = recompute_round_tcc(steps).set_index(["id", "method", "round", "model"])["score_tcc"]
    assert len(ours) == len(theirs) > 0
    pd.testing.assert_series_equal(
        ours.sort_index(), theirs.sort_index(), check_dtype=False, check_index_type=False
    )
