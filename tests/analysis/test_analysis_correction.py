"""Injection / correction study on a hand-built injection trace with known outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import correction
from analysis.rundir import RunDirError


def _injection() -> pd.DataFrame:
    # A->B at r=0.5: eligible p1, p2, p3 (A right, B wrong); p1, p2 corrected -> 66.7%.
    # p4: B right alone, broken by the injection. p5: A wrong: not eligible.
    rows = [
        ("p1", True, False, True),
        ("p2", True, False, True),
        ("p3", True, False, False),
        ("p4", True, True, False),
        ("p5", False, False, True),
    ]
    return pd.DataFrame(
        [
            {
                "id": i,
                "source": "A",
                "target": "B",
                "ratio": 0.5,
                "source_correct": s,
                "target_correct": t,
                "injected_correct": j,
            }
            for i, s, t, j in rows
        ]
    )


def test_correction_rate_counts_only_source_right_target_wrong():
    rates = correction.correction_rates(_injection(), n_boot=200)
    row = rates.iloc[0]
    assert (row.n_problems, row.n_eligible, row.n_corrected, row.n_broken) == (5, 3, 2, 1)
    assert row.correction_rate == pytest.approx(200 / 3)
    assert row.ci_low <= row.correction_rate <= row.ci_high


def test_correction_table2_layout():
    table = correction.table2(correction.correction_rates(_injection(), n_boot=200))
    assert table.columns.tolist() == ["direction", "r = 50%"]
    assert table.loc[0, "direction"] == "A → B"
    assert table.loc[0, "r = 50%"].startswith("66.7") and "(2/3)" in table.loc[0, "r = 50%"]


def test_correction_rejects_missing_columns():
    with pytest.raises(RunDirError, match="injected_correct"):
        correction.correction_rates(_injection().drop(columns="injected_correct"))


def test_correction_study_on_injection_run(fixture_runs, tmp_path):
    names = {p.name for p in correction.run(fixture_runs / "injection", tmp_path)}
    assert {"correction_rate.png", "correction_rate.csv", "correction_table.md"} <= names
    with pytest.raises(RunDirError, match="injection"):
        correction.run(fixture_runs / "main", tmp_path)
