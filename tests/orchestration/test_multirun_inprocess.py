"""A 2x2 sweep in one process (basic launcher): each job its own dir and its own finished W&B run,
so runs never bleed into each other (the template's multirun pitfall)."""

from __future__ import annotations

import json
import sys

import pytest
import wandb
from hydra.core.global_hydra import GlobalHydra

from tie import run


def test_inprocess_2x2_multirun_isolates_jobs(tmp_path, monkeypatch):
    sweep = tmp_path / "sweep"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(sys, "argv", [
        "tie-run", "-m", "api=orch_fakes:fake_api", "logger=wandb", "progress=false",
        "data.limit=4", "stats.n_boot=100", "ensemble.methods=[single,tie]",
        f"hydra.sweep.dir={sweep}", "ensemble.interval=8,16", "ensemble.scoring=tcc,top1",
    ])  # fmt: skip
    GlobalHydra.instance().clear()
    run.main()
    assert wandb.run is None
    jobs = sorted(p for p in sweep.iterdir() if p.name.isdigit())
    assert len(jobs) == 4
    got = set()
    for d in jobs:
        metrics = json.loads((d / "metrics.json").read_text())
        tie_methods = [m for m in metrics["methods"] if m.startswith("tie:")]
        assert len(tie_methods) == 1
        got.add((metrics["interval"], tie_methods[0]))
        assert len(list((d / "wandb").glob("offline-run-*"))) == 1
    assert got == {(8, "tie:tcc"), (8, "tie:top1"), (16, "tie:tcc"), (16, "tie:top1")}
    assert len({(d / "wandb_id.txt").read_text() for d in jobs}) == 4


def test_ddp_inside_a_local_multirun_is_refused_before_compute(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [
        "tie-run", "-m", "api=orch_fakes:fake_api", "logger=none", "trainer=ddp_cpu",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", "ensemble.interval=8,16",
    ])  # fmt: skip
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit, match="launcher=submitit"):
        run.main()
    assert not list((tmp_path / "sweep").rglob("parts"))
