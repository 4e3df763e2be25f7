"""W&B runs a report can be built from: an offline run carries the paper's figures as images, the
numbers behind them as tables and native charts, and a sweep's jobs share a group.

Checked on the files of the offline run: its media files (images, tables and the data tables of
the native charts) and the labels in its `.wandb` log. Cost: about 20 s (the studies' bootstrap on two fixture runs, one in-process
tie-run sweep of 2 jobs on the fake stack)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "runs"


def media(files: Path, kind: str, sub: str = "") -> set[str]:
    """Keys of the run's logged media of `kind` (images / table) under `sub`: the file names
    without W&B's `_<step>_<hash>` tail."""
    root = files / "media" / kind / sub
    tail = re.compile(r"_\d+_[0-9a-f]{20}\..*$")
    return {tail.sub("", str(p.relative_to(root))) for p in root.rglob("*") if p.is_file()}


def offline_run(tmp_path: Path, name: str):
    import wandb

    return wandb.init(mode="offline", dir=str(tmp_path), project="mdlm-tie", name=name,
                      reinit="finish_previous")  # fmt: skip


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")


def test_a_tie_run_logs_the_papers_figures_and_tables(tmp_path):
    from analysis.wandb_report import log_report

    run_dir = tmp_path / "main"
    shutil.copytree(FIXTURES / "main", run_dir)
    run = offline_run(tmp_path, "main")
    skipped = log_report(run, run_dir, table_rows=50)
    files = Path(run.dir)
    run.finish()
    assert skipped == {"correction": skipped["correction"]}  # only the injection study is absent

    assert media(files, "images", "figures") >= {
        "accuracy", "stability_signals", "stability_change_count", "leader_change_rate",
        "leader_timing",
    }  # fmt: skip
    # tables, and the data tables W&B's native charts (bar, line series) are drawn from
    assert media(files, "table") >= {
        "accuracy/table", "accuracy/chart_table", "stability/curves",
        "stability/mean_top1_prob_table", "stability/mean_entropy_table",
        "stability/mean_margin_table", "stability/change_count_table", "leader/progress_rates",
        "leader/progress_table", "leader/table", "leader/share", "rounds",
    }  # fmt: skip

    # the tables hold the studies' numbers: accuracy with intervals per method, per-round scores
    (acc,) = (files / "media" / "table" / "accuracy").glob("table_*.table.json")
    acc = json.loads(acc.read_text())
    assert acc["columns"][:5] == ["method", "n", "accuracy", "acc_low", "acc_high"]
    frame = json.loads((run_dir / "metrics.json").read_text())["methods"]
    for row in acc["data"]:
        assert row[2] == pytest.approx(frame[row[0]]["accuracy"])
        assert row[3] <= row[2] <= row[4]
    (rounds,) = (files / "media" / "table").glob("rounds_*.table.json")
    rounds = json.loads(rounds.read_text())
    assert {"round", "model", "score_tcc", "leader"} <= set(rounds["columns"])
    assert len(rounds["data"]) == 50  # capped at logger.table_rows

    curves = next((files / "media" / "table" / "stability").glob("curves_*.table.json"))
    outcomes = {r[json.loads(curves.read_text())["columns"].index("outcome")]
                for r in json.loads(curves.read_text())["data"]}  # fmt: skip
    assert outcomes == {"correct", "incorrect"}


def test_an_injection_run_logs_correction_rates(tmp_path):
    from analysis.wandb_report import log_report

    run_dir = tmp_path / "injection"
    shutil.copytree(FIXTURES / "injection", run_dir)
    run = offline_run(tmp_path, "injection")
    log_report(run, run_dir)
    files = Path(run.dir)
    run.finish()
    assert "correction_rate" in media(files, "images", "figures")
    tables = media(files, "table", "injection")
    assert tables >= {"correction_table", "correction_rate_table"}
    (rates,) = (files / "media" / "table" / "injection").glob("correction_table_*.table.json")
    rates = json.loads(rates.read_text())
    col = rates["columns"].index("correction_rate")
    assert all(0 <= r[col] <= 100 for r in rates["data"] if r[col] is not None)


def test_a_sweeps_runs_share_a_group_and_are_typed_by_their_point(tmp_path, monkeypatch):
    from hydra.core.global_hydra import GlobalHydra

    from tie import run

    sys.path.insert(0, str(REPO / "tests" / "orchestration"))  # orch_fakes: the fake stack
    monkeypatch.setattr(sys, "argv", [
        "tie-run", "-m", "api=orch_fakes:fake_api", "logger=wandb", "progress=false",
        "data.limit=4", "stats.n_boot=50", "ensemble.methods=[single,tie]",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", "ensemble.interval=8,16",
    ])  # fmt: skip
    GlobalHydra.instance().clear()
    try:
        run.main()
    finally:
        sys.path.remove(str(REPO / "tests" / "orchestration"))
    runs = {}
    for job in sorted((tmp_path / "sweep").glob("[0-9]")):
        labels = json.loads((job / "wandb_run.json").read_text())
        (offline,) = job.glob("wandb/offline-run-*")
        log = (offline / f"run-{labels['id']}.wandb").read_bytes()
        for key in ("group", "job_type", "name"):  # what W&B recorded for the run
            assert labels[key].encode() in log
        runs[job.name] = (labels["group"], labels["job_type"], labels["name"])
        assert "accuracy" in media(offline / "files", "images", "figures"), "each job's report"
    (group,) = {g for g, _, _ in runs.values()}
    assert group == f"synth_math-{(tmp_path / 'sweep').name}"
    assert {j for _, j, _ in runs.values()} == {"ensemble.interval=8", "ensemble.interval=16"}
    assert {n for _, _, n in runs.values()} == {f"{group}-0", f"{group}-1"}


def test_a_plain_run_is_grouped_by_task_and_explicit_labels_win(tmp_path):
    from tie.runs.tracking import run_labels

    assert run_labels({}, "gsm8k", tmp_path / "2026-01-01_00") == {
        "group": "gsm8k", "job_type": "evaluate", "name": "gsm8k-2026-01-01_00",
    }  # fmt: skip
    given = {"group": "interval-ablation", "job_type": "n8", "name": "x"}
    assert run_labels(given, "gsm8k", tmp_path) == given


def test_tie_run_on_the_zoo_logs_the_report_to_an_offline_run(tmp_path, monkeypatch):
    """The whole path: tie-run (real stack, zoo members, mode=inject) -> offline W&B run with every
    figure of the paper this run supports, the injection study included."""
    import torch
    from hydra.core.global_hydra import GlobalHydra

    from tie import run

    torch.set_num_threads(1)
    run_dir = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", [
        "tie-run", "mode=inject", "injection.ratios=[0.5]", "models=[llada-a,dream-b]",
        "ensemble.methods=[single,post,tie:tcc]", "data.limit=4", "data.batch_size=4",
        "logger=wandb", "progress=false", "stats.n_boot=200", f"hydra.run.dir={run_dir}",
    ])  # fmt: skip
    GlobalHydra.instance().clear()
    run.main()
    (offline,) = run_dir.glob("wandb/offline-run-*")
    files = offline / "files"
    assert media(files, "images", "figures") >= {
        "accuracy", "stability_signals", "stability_change_count", "leader_change_rate",
        "leader_timing", "correction_rate",
    }  # fmt: skip
    assert media(files, "table") >= {
        "predictions", "accuracy/table", "accuracy/chart_table", "stability/curves",
        "leader/progress_table", "rounds", "injection/correction_table",
        "injection/correction_rate_table",
    }  # fmt: skip
    assert (run_dir / "figures" / "accuracy.csv").is_file()  # the run dir keeps the numbers
