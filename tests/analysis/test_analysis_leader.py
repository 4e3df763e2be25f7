"""Leader switch study on hand-built rounds with known leader sequences."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import leader
from analysis.rundir import RunDirError

SEQUENCES = {"a": ["x", "y", "y", "x"], "b": ["x", "x"]}  # 2 of 3 relays change; 0 of 1


def _rounds(sequences=SEQUENCES, method="tie:tcc") -> pd.DataFrame:
    rows = []
    for pid, seq in sequences.items():
        for r, lead in enumerate(seq):
            for model in ("x", "y"):  # every model row of a round names the same leader
                rows.append(
                    {
                        "id": pid,
                        "method": method,
                        "round": r,
                        "model": model,
                        "leader": lead,
                        "score_tcc": 0.0,
                    }
                )
    return pd.DataFrame(rows)


def test_leader_change_rate_pools_relays_over_problems():
    rates = leader.change_rate(_rounds())
    assert len(rates) == 1
    row = rates.iloc[0]
    assert (row.n_relays, row.n_changes, row.n_problems) == (4, 2, 2)
    assert row.change_rate == pytest.approx(50.0)


def test_leader_change_timing_per_round():
    timing = leader.change_timing(_rounds()).set_index("round")
    assert timing["n_relays"].to_dict() == {1: 2, 2: 1, 3: 1}
    assert timing["change_rate"].to_dict() == {1: 50.0, 2: 0.0, 3: 100.0}


def test_leader_changes_progress_within_decode():
    relays = leader.leader_changes(_rounds())
    a = relays[relays.id == "a"]
    assert a["changed"].tolist() == [True, False, True]
    # the relay before round r comes once r of the 4 rounds are done
    assert a["progress"].tolist() == pytest.approx([1 / 4, 2 / 4, 3 / 4])


def test_lead_share_and_table5_per_scoring():
    rounds = pd.concat([_rounds(), _rounds({"a": ["y", "y", "y"]}, method="tie:top1")])
    share = leader.lead_share(rounds).set_index(["method", "leader"])["lead_share"]
    assert share[("tie:tcc", "x")] == pytest.approx(100 * 4 / 6)
    assert share[("tie:top1", "y")] == pytest.approx(100.0)
    table = leader.table5(leader.change_rate(rounds.assign(task="gsm8k")))
    assert table.columns.tolist() == ["scoring", "gsm8k"]
    assert table.set_index("scoring").loc["tie:top1", "gsm8k"] == "0.0 (0/2)"


def test_inconsistent_leader_is_an_error():
    rounds = _rounds()
    rounds.loc[1, "leader"] = "y"  # round 0 of problem a: model rows disagree
    with pytest.raises(RunDirError, match="several leaders"):
        leader.leader_sequences(rounds)


def test_leader_study_writes_figures_and_table(fixture_runs, tmp_path):
    written = leader.run(fixture_runs / "sweep", tmp_path)
    names = {p.name for p in written}
    assert {
        "leader_change_rate.png",
        "leader_change_rate.csv",
        "leader_timing.png",
        "leader_timing.csv",
        "leader_table.md",
        "leader_table.tex",
    } <= names
    table = (tmp_path / "leader_table.md").read_text()
    # the sweep's intervals, not written "n=4" (reads like a sample size)
    assert "tie:tcc (interval 4)" in table and "tie:tcc (interval 6)" in table
    assert "n=" not in table
    timing = pd.read_csv(tmp_path / "leader_timing.csv")
    assert set(timing["interval"]) == {4, 6}
