"""W&B runs a report can be built from: an offline run carries the paper's figures as images, the
numbers behind them as tables and native charts, and a sweep's jobs share a group.

Checked on the files of the offline run: the media files and the `.wandb` log, read back with
wandb's own reader. Cost: about 20 s (the studies' bootstrap on two fixture runs, one in-process
tie-run sweep of 2 jobs on the fake stack)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "runs"


def read_records(run_dir: Path) -> list:
    """Every record of the offline run's .wandb file (wandb's own reader and protobufs)."""
    from wandb.proto import wandb_internal_pb2
    from wandb.sdk.internal import datastore

    (path,) = run_dir.glob("*.wandb")
    ds = datastore.DataStore()
    ds.open_for_scan(str(path))
    out = []
    while (data := ds.scan_data()) is not None:
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(data)
        out.append(rec)
    return out


def history_keys(records: list) -> set[str]:
    keys = set()
    for rec in records:
        if rec.WhichOneof("record_type") == "history":
            for item in rec.history.item:
                keys.add(item.key or "/".join(item.nested_key))
    return keys


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

    images = {
        p.name.split("_0_")[0] for p in (files / "media" / "images" / "figures").glob("*.png")
    }
    assert images >= {
        "accuracy", "stability_signals", "stability_change_count", "leader_change_rate",
        "leader_timing", "leader_progress",
    }  # fmt: skip
    keys = history_keys(read_records(files.parent))
    assert {"accuracy/chart_table", "accuracy/table", "stability/mean_top1_prob_table",
            "stability/mean_entropy_table", "stability/mean_margin_table",
            "leader/progress_table", "leader/table", "rounds"} <= keys  # fmt: skip

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
    assert list((files / "media" / "images" / "figures").glob("correction_rate_*.png"))
    keys = history_keys(read_records(files.parent))
    assert {"injection/correction_table", "injection/correction_rate_table"} <= keys


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
        (offline,) = job.glob("wandb/offline-run-*")
        rec = next(r.run for r in read_records(offline) if r.WhichOneof("record_type") == "run")
        runs[job.name] = (rec.run_group, rec.job_type, rec.display_name)
        images = list((offline / "files" / "media" / "images" / "figures").glob("accuracy_*.png"))
        assert images, "each job logs its report"
    (group,) = {g for g, _, _ in runs.values()}
    assert group == f"synth_math-{(tmp_path / 'sweep').name}"
    assert {j for _, j, _ in runs.values()} == {"ensemble.interval=8", "ensemble.interval=16"}
    assert {n for _, _, n in runs.values()} == {f"{group}-0", f"{group}-1"}
