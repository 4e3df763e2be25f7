"""Confidence stability study: signals and C(T), correct vs incorrect, on hand-built traces."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import stability
from analysis.rundir import RunDirError


def _steps() -> pd.DataFrame:
    """Model m: problems c1, c2 correct (0 and 1 change), w1 incorrect (3 changes)."""
    traj = {
        "c1": [[1, 1], [1, 1], [1, 1]],
        "c2": [[1, 1], [1, 2], [1, 2]],
        "w1": [[1, 1], [2, 1], [3, 2]],
    }
    rows = []
    for pid, tops in traj.items():
        correct = pid.startswith("c")
        for t, top1 in enumerate(tops):
            rows.append(
                {
                    "id": pid,
                    "method": "single:m",
                    "model": "m",
                    "round": 0,
                    "step": t,
                    "answer_top1": top1,
                    "in_A": [True, True],
                    "mean_top1_prob": 0.9 if correct else 0.5 + 0.1 * t,
                    "mean_entropy": 0.1,
                    "mean_margin": float("nan") if t == 2 else 0.4,
                    "correct": correct,
                }
            )
    return pd.DataFrame(rows)


def test_change_count_summary_correct_vs_incorrect():
    summary = stability.change_count_summary(_steps(), n_resamples=200).set_index("outcome")
    assert summary.loc["correct", "n"] == 2 and summary.loc["incorrect", "n"] == 1
    assert summary.loc["correct", "tcc"] == pytest.approx(0.5)
    assert summary.loc["incorrect", "tcc"] == pytest.approx(3.0)
    assert summary.loc["incorrect", "tcc_norm"] == pytest.approx(1.5)
    assert summary.loc["correct", "tcc_low"] <= 0.5 <= summary.loc["correct", "tcc_high"]
    table = stability.table1(summary.reset_index())
    assert table.loc[0, "ratio"] == "6.00"


def test_signal_curves_per_step_and_outcome():
    curves = stability.signal_curves(_steps())
    top1 = curves[(curves.signal == "mean_top1_prob") & (curves.outcome == "incorrect")]
    assert top1["mean"].tolist() == pytest.approx([0.5, 0.6, 0.7])
    margin = curves[(curves.signal == "mean_margin") & (curves.step == 2)]
    assert margin["n"].tolist() == [0, 0] and all(math.isnan(v) for v in margin["mean"])


def test_select_methods_defaults_to_single_models():
    assert stability.select_methods(["single:a", "post", "tie:tcc"]) == ["single:a"]
    assert stability.select_methods(["post"]) == ["post"]
    with pytest.raises(RunDirError, match="not in the run"):
        stability.select_methods(["single:a"], ["tie:nope"])


def test_stability_study_on_fixture_run(fixture_runs, tmp_path):
    written = stability.run(fixture_runs / "main", tmp_path, n_resamples=200)
    names = {p.name for p in written}
    assert {
        "stability_signals.png",
        "stability_signals.csv",
        "stability_change_count.png",
        "stability_change_count.csv",
        "stability_table.md",
        "stability_table.tex",
    } <= names
    data = pd.read_csv(tmp_path / "stability_change_count.csv")
    assert set(data["model"]) == {"llada-a", "dream-b"}
    # the fixture makes incorrect samples flip more: the study must recover that
    by = data.set_index(["model", "outcome"])["tcc"]
    for model in ("llada-a", "dream-b"):
        assert by[(model, "incorrect")] > by[(model, "correct")]


def test_stability_sweep_does_not_double_count(fixture_runs):
    from analysis.rundir import load_runs

    steps = stability.collect(load_runs(fixture_runs / "sweep"))
    per = steps.drop_duplicates(["task", "method", "id"]).groupby("method").size()
    assert per.tolist() == [12, 12]  # 12 problems per single model, not 24


def test_stability_figures_name_the_interval_and_say_sample_sizes_as_problems(monkeypatch):
    """Issue 22: the stability figures did not show the interval n; each panel, bar and table row
    now names it (`interval 16`, never `n=16`, which reads like a sample size), single models say
    they have no relay, and the legends count problems."""
    steps = pd.concat(
        [
            _steps().assign(interval=stability.NO_RELAY),
            _steps().assign(method="tie:tcc", interval="interval 16"),
        ]
    )
    figures = []
    monkeypatch.setattr(stability, "save_figure", lambda fig, data, path: figures.append(fig) or [])
    curves = stability.signal_curves(steps)
    summary = stability.change_count_summary(steps, n_resamples=50)
    assert set(curves["interval"]) == set(summary["interval"]) == {"no relay", "interval 16"}
    assert set(stability.table1(summary)["interval"]) == {"no relay", "interval 16"}
    stability.plot_signal_curves(curves, "unused.png")
    stability.plot_change_counts(summary, "unused.png")
    for fig in figures:
        texts = [fig._suptitle.get_text()] + [
            t.get_text()
            for ax in fig.axes
            for t in [ax.title, *(ax.get_legend().get_texts() if ax.get_legend() else [])]
        ]
        assert "interval 16" in " ".join(texts)
        assert not any("n=" in t for t in texts)
        legend = [t for t in texts if t.startswith(("correct", "incorrect"))]
        assert legend and all("problems)" in t for t in legend)
    curve_titles = [ax.title.get_text() for ax in figures[0].axes if ax.title.get_text()]
    assert sorted(curve_titles) == ["m · interval 16", "m · no relay"]


def test_single_models_alone_say_the_interval_does_not_apply(fixture_runs, monkeypatch):
    figures = []
    monkeypatch.setattr(stability, "save_figure", lambda fig, data, path: figures.append(fig) or [])
    from analysis.rundir import load_runs

    steps = stability.collect(load_runs(fixture_runs / "main"))
    assert set(steps["interval"]) == {stability.NO_RELAY}
    stability.plot_signal_curves(stability.signal_curves(steps), "unused.png")
    assert "interval n does not apply" in figures[0]._suptitle.get_text()
