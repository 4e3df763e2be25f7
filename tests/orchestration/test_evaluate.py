"""A short tie-run end to end with each logger, on the fake stack (12 problems, 3 models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tie.run import execute

N_PROBLEMS = 12
METHODS = [
    "single:llada-a",
    "single:dream-b",
    "single:llada-c",
    "post",
    "tie:tcc",
    "tie:top1",
    "tie:entropy",
    "tie:margin",
]


def read_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("logger", ["none", "csv", "wandb"])
def test_default_comparison_set_writes_a_self_describing_run_dir(make_cfg, tmp_path, logger):
    run_dir = tmp_path / "run"
    metrics = execute(make_cfg(f"logger={logger}"))

    rows = read_rows(run_dir)
    assert len(rows) == N_PROBLEMS * len(METHODS)
    assert len({(r["id"], r["method"]) for r in rows}) == len(rows)  # one row per (id, method)
    assert [r["method"] for r in rows[: len(METHODS)]] == METHODS  # dataset order, method order
    assert [r["index"] for r in rows] == sorted(r["index"] for r in rows)
    for key in (
        "prediction",
        "extracted",
        "correct",
        "category",
        "selected_model",
        "nfe",
        "wall_s",
        "budget_exit",
    ):
        assert key in rows[0]
    assert all(r["budget_exit"] in (True, False) for r in rows)

    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk["methods"].keys() == set(METHODS)
    for m in METHODS:
        s = on_disk["methods"][m]
        mine = [r for r in rows if r["method"] == m]
        assert s["n"] == N_PROBLEMS
        assert s["n_correct"] == sum(r["correct"] for r in mine)
        assert s["accuracy"] == pytest.approx(100 * s["n_correct"] / N_PROBLEMS)
        assert s["ci95"][0] <= s["accuracy"] <= s["ci95"][1]
        assert set(s["per_category"]) == {"even", "odd"}
        assert s["budget_exits"] == sum(r["budget_exit"] for r in mine)
    best = on_disk["best_single"]
    assert best.startswith("single:")
    assert set(on_disk["comparisons"]) == set(METHODS) - {best}
    assert metrics["methods"]["post"]["accuracy"] == on_disk["methods"]["post"]["accuracy"]

    for name in ("config.yaml", "overrides.yaml", "meta.json", "plan.json"):
        assert (run_dir / name).exists(), name
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["versions"]["torch"] and "revision" in meta["git"]
    assert (run_dir / "traces" / "rounds.txt").read_text().count("\n") == N_PROBLEMS * len(METHODS)
    assert (run_dir / "metrics.csv").exists() == (logger == "csv")
    if logger == "csv":  # one row per method, with the interval each ran at
        import csv

        with open(run_dir / "metrics.csv") as fh:
            table = {r["method"]: r for r in csv.DictReader(fh)}
        assert set(table) == set(METHODS)
        for m in METHODS:
            assert table[m]["interval"] == str(on_disk["methods"][m]["interval"])
    if logger == "wandb":
        import wandb

        assert wandb.run is None  # finished after the job
        offline = list((run_dir / "wandb").glob("offline-run-*"))
        assert len(offline) == 1
        run_id = (run_dir / "wandb_id.txt").read_text().strip()
        assert offline[0].name.endswith(run_id)
        assert list(offline[0].glob("files/media/table/predictions_*.table.json"))
        assert list((run_dir / "wandb" / "data").rglob("*")), (
            "traces artifact staged in the run dir"
        )


def test_final_table_lists_accuracy_interval_nfe_and_wall_time(make_cfg, capsys):
    execute(make_cfg("ensemble.interval=8", "ensemble.methods=[single,post,tie:tcc]"))
    out = capsys.readouterr().out
    for word in ("accuracy", "interval", "NFE", "wall s", "tie:tcc", "post"):
        assert word in out
    tie_line = next(line for line in out.splitlines() if "tie:tcc" in line)
    assert " 8 " in tie_line


def test_sweep_axis_scoring_as_a_single_name(make_cfg, tmp_path):
    execute(make_cfg("ensemble.scoring=top1", "ensemble.methods=[tie]"))
    assert {r["method"] for r in read_rows(tmp_path / "run")} == {"tie:top1"}
