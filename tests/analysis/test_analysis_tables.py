"""Results tables from hand-built run directories with known outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from scipy.stats import binomtest

from analysis import tables
from analysis.rundir import RunDir, RunDirError, find_runs, load_runs


def _write_run(
    path: Path,
    outcomes: dict[str, list[bool]],
    interval: int = 16,
    task: str = "gsm8k",
    models=("a", "b"),
) -> Path:
    path.mkdir(parents=True)
    rows = [
        {
            "id": i,
            "method": m,
            "prediction": "",
            "extracted": "",
            "correct": c,
            "category": "x",
            "selected_model": "a",
            "nfe": 10 if m.startswith("single") else 20,
            "wall_s": 0.1,
        }
        for m, cs in outcomes.items()
        for i, c in enumerate(cs)
    ]
    (path / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {
        "task": {"name": task},
        "models": list(models),
        "ensemble": {"interval": interval, "options": {"normalise": True}},
    }
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return path


OUTCOMES = {
    "single:a": [True] * 6 + [False] * 4,  # 60%
    "single:b": [True] * 7 + [False] * 3,  # 70%: best single
    "tie:tcc": [True] * 10,  # 100%: wins on 3 problems, loses none
}


def test_results_frame_pairs_each_method_with_best_single(tmp_path):
    frame = tables.results_frame([RunDir(_write_run(tmp_path / "r", OUTCOMES))], n_boot=200)
    row = frame.set_index("method").loc["tie:tcc"]
    assert row.best_single == "single:b"
    assert row.accuracy == pytest.approx(100.0)
    assert row.delta == pytest.approx(30.0)
    assert (row.wins, row.losses) == (3, 0)
    assert row.mcnemar_p == pytest.approx(binomtest(3, 3, 0.5).pvalue)
    assert row.delta_low <= 30.0 <= row.delta_high
    assert pytest.approx(10.0) == frame.set_index("method").loc["single:a", "nfe_mean"]


def test_main_table_layout_methods_by_tasks(tmp_path):
    runs = [
        RunDir(_write_run(tmp_path / "r1", OUTCOMES)),
        RunDir(_write_run(tmp_path / "r2", OUTCOMES, task="mmlu")),
    ]
    table = tables.main_table(tables.results_frame(runs, n_boot=200))
    assert table.columns.tolist() == ["method", "gsm8k", "mmlu"]
    assert table["method"].tolist() == ["single:a", "single:b", "tie:tcc"]
    assert table.set_index("method").loc["single:b", "gsm8k"] == "70.00"


def test_sweep_writes_the_interval_ablation_table(tmp_path):
    sweep = tmp_path / "multirun"
    _write_run(sweep / "0", OUTCOMES, interval=8)
    _write_run(sweep / "1", {"tie:tcc": [True] * 5 + [False] * 5}, interval=32)  # TIE only
    names = {p.name for p in tables.run(sweep, tmp_path / "out", n_boot=200)}
    assert {
        "table3_main.md",
        "table6_interval.md",
        "table6_interval.tex",
        "results_paired_table.md",
    } <= names
    ablation = (tmp_path / "out" / "table6_interval.md").read_text()
    assert "interval=8" in ablation and "interval=32" in ablation and "50.00" in ablation
    frame = tables.results_frame(load_runs(sweep), n_boot=200)
    borrowed = frame[(frame.interval == 32)].iloc[0]  # compared with the other job's single
    assert borrowed.best_single == "single:b" and borrowed.delta == pytest.approx(-20.0)


def test_code_pair_gets_table4(tmp_path):
    run = _write_run(
        tmp_path / "r", OUTCOMES, task="humaneval", models=("dreamcoder-7b", "diffucoder-7b")
    )
    names = {p.name for p in tables.run(run, tmp_path / "out", n_boot=100)}
    assert "table4_code.md" in names and "table3_main.md" not in names


def test_run_dir_errors_name_the_problem(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        RunDir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="no run directory"):
        find_runs(tmp_path / "empty")
    run = _write_run(tmp_path / "dup", {"single:a": [True]})
    with (run / "predictions.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": 0, "method": "single:a", "correct": False}) + "\n")
    with pytest.raises(RunDirError, match="duplicate"):
        _ = RunDir(run).predictions
    (run / "predictions.jsonl").write_text(json.dumps({"id": 0, "method": "m"}) + "\n")
    with pytest.raises(RunDirError, match="correct"):
        _ = RunDir(run).predictions


def test_find_runs_orders_sweep_jobs_numerically(tmp_path):
    for job in (10, 2, 1):
        _write_run(tmp_path / "sweep" / str(job), {"single:a": [True]})
    assert [p.name for p in find_runs(tmp_path / "sweep")] == ["1", "2", "10"]


def test_baselines_rank_after_tie_in_tables():
    methods = ["oracle", "vote", "avg:product", "avg:mean", "tie:tcc", "post", "single:a"]
    assert sorted(methods, key=tables.method_rank) == [
        "single:a", "post", "tie:tcc", "avg:mean", "avg:product", "vote", "oracle"]  # fmt: skip
    frame = pd.DataFrame(
        {"task": "t", "method": methods, "accuracy": 50.0, "mcnemar_p": float("nan")}
    )
    assert list(tables.main_table(frame)["method"]) == sorted(methods, key=tables.method_rank)
