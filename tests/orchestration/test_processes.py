"""Real processes: SIGKILL then resume, DDP on 2 CPU processes (gloo) = 1 process, and a 2x2
joblib multirun with one run dir and one W&B run per job. Each spawns fresh Python processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, subprocess_env

BASE = ["api=orch_fakes:fake_api", "progress=false", "data.limit=null", "stats.n_boot=100"]


def tie_run(
    args: list[str], tmp_path: Path, timeout: int = 240, **kw
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tie.run",
            *[a for a in args if a == "-m"],
            *BASE,
            *[a for a in args if a != "-m"],
        ],  # fmt: skip
        cwd=REPO,
        env={**subprocess_env(tmp_path), **kw.pop("env", {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rows_of(run_dir: Path) -> list[tuple]:
    out = []
    for line in (run_dir / "predictions.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.append((r["index"], r["id"], r["method"], r["prediction"], r["correct"], r["nfe"]))
    return out


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_completes_without_duplicates(tmp_path):
    run_dir = tmp_path / "run"
    args = [*BASE, "logger=none", "data.batch_size=2", f"hydra.run.dir={run_dir}"]
    env = {**subprocess_env(tmp_path), "ORCH_FAKE_SLEEP": "0.05"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tie.run", *args], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    parts = run_dir / "parts"
    deadline = time.time() + 180
    while time.time() < deadline and len(list(parts.glob("chunk-*.jsonl"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(parts.glob("chunk-*.jsonl")))
    assert 2 <= done < 6, "the kill should land mid-run"
    assert not (run_dir / "predictions.jsonl").exists()

    res = tie_run(["logger=none", "data.batch_size=2", f"hydra.run.dir={run_dir}"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    clean = tmp_path / "clean"
    res = tie_run(["logger=none", "data.batch_size=2", f"hydra.run.dir={clean}"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert rows_of(run_dir) == rows_of(clean)
    assert len(rows_of(run_dir)) == 12 * 8


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_equals_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    res = tie_run(["logger=none", "data.batch_size=2", f"hydra.run.dir={one}"], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    res = tie_run(
        ["logger=none", "data.batch_size=2", "trainer=ddp_cpu", f"hydra.run.dir={two}"], tmp_path
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert rows_of(two) == rows_of(one)  # every problem once, merged in dataset order
    traces = (two / "traces" / "rounds.txt").read_text().splitlines()
    assert len(traces) == 12 * 8 and len(set(traces)) == len(traces)
    m1 = json.loads((one / "metrics.json").read_text())
    m2 = json.loads((two / "metrics.json").read_text())
    assert m1["comparisons"] == m2["comparisons"]
    assert not list(two.glob("wandb*")), "only rank 0 logs"


@pytest.mark.slow
def test_joblib_multirun_2x2_gives_each_job_its_own_dir_and_wandb_run(tmp_path):
    sweep = tmp_path / "sweep"
    res = tie_run(
        ["-m", "launcher=joblib", "logger=wandb", "data.limit=4", f"hydra.sweep.dir={sweep}",
         "ensemble.methods=[single,tie]", "ensemble.interval=8,16", "ensemble.scoring=tcc,top1"],
        tmp_path, timeout=400,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    job_dirs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert len(job_dirs) == 4
    seen = set()
    for d in job_dirs:
        cfg = json.loads(json.dumps(__import__("yaml").safe_load((d / "config.yaml").read_text())))
        seen.add((cfg["ensemble"]["interval"], cfg["ensemble"]["scoring"]))
        methods = {r[2] for r in rows_of(d)}
        assert f"tie:{cfg['ensemble']['scoring']}" in methods
        assert len(list((d / "wandb").glob("offline-run-*"))) == 1
    assert seen == {(8, "tcc"), (8, "top1"), (16, "tcc"), (16, "top1")}
    ids = {(d / "wandb_id.txt").read_text() for d in job_dirs}
    assert len(ids) == 4
