"""Issue 22: runs as researchers meet them (shared nodes, SLURM, logs, mistakes).

Threads, progress lines without a terminal, retrying a dir after a failed plan, refused resumes
that leave the dir as it was, meta.json history, one-line errors for a full disk, changed keys
named exactly, lazy Lightning import, the missing-checkpoint hint, `--help`."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import time

import orch_fakes
import pytest
from conftest import REPO, subprocess_env

from tie.run import execute
from tie.runs import store as store_mod
from tie.runs.errors import DiskFullError, RunConfigError
from tie.runs.store import PredictionStore, plan_changes
from tie.runs.threads import given_cores, resolve_threads

# ---- threads ---------------------------------------------------------------------------------


def test_default_threads_are_the_cores_the_process_was_given():
    assert given_cores({"OMP_NUM_THREADS": "3", "SLURM_CPUS_PER_TASK": "8"}) == (
        3,
        "OMP_NUM_THREADS",
    )
    assert given_cores({"SLURM_CPUS_PER_TASK": "6", "SLURM_CPUS_ON_NODE": "64"}) == (
        6,
        "SLURM_CPUS_PER_TASK",
    )
    assert given_cores({"SLURM_CPUS_ON_NODE": "5"}) == (5, "SLURM_CPUS_ON_NODE")
    n, source = given_cores({})
    assert source == "sched_getaffinity" and n == len(os.sched_getaffinity(0))
    assert resolve_threads(None, environ={"SLURM_CPUS_PER_TASK": "8"}) == (8, "SLURM_CPUS_PER_TASK")
    assert resolve_threads(None, processes=2, environ={"SLURM_CPUS_PER_TASK": "8"})[0] == 4
    assert resolve_threads(2, environ={"SLURM_CPUS_PER_TASK": "8"}) == (2, "threads")
    with pytest.raises(RunConfigError, match="threads"):
        resolve_threads(0)


def test_threads_setting_is_applied_and_recorded_in_meta(make_cfg, tmp_path):
    import torch

    execute(make_cfg("threads=1", "data.limit=4"))
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["threads"]["threads"] == 1 and meta["threads"]["source"] == "threads"
    assert torch.get_num_threads() == 1


# ---- progress lines without a terminal -------------------------------------------------------


def test_progress_lines_reach_run_log_when_stdout_is_not_a_terminal(tmp_path):
    run_dir = tmp_path / "run"
    args = ["api=orch_fakes:fake_api", "logger=none", "progress=true", "progress_every_s=0.2",
            "data.limit=8", "data.batch_size=2", "stats.n_boot=50", f"hydra.run.dir={run_dir}"]  # fmt: skip
    env = {**subprocess_env(tmp_path), "ORCH_FAKE_SLEEP": "0.03"}  # 8 x 8 x 0.03 s = ~2 s
    res = subprocess.run([sys.executable, "-m", "tie.run", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=240)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    log = (run_dir / "run.log").read_text()
    pattern = r"progress synth_math: (\d+)/8 problems \(\d+%\) \| (\S+)[^|]* \| (.+?) \| elapsed"
    lines = re.findall(pattern, log)
    assert len(lines) >= 4, log  # start, at least two ticks, end
    assert lines[0][0] == "0" and lines[-1][0] == "8"
    assert any(m.startswith(("single:", "post", "tie:")) for _, m, _ in lines)
    assert any(r.endswith("problems/s") for _, _, r in lines[1:])
    assert (
        "ETA 0:00:00"
        in log.splitlines()[[i for i, x in enumerate(log.splitlines()) if "8/8" in x][-1]]
    )
    assert "progress synth_math" in res.stdout + res.stderr  # and the console


def test_progress_rate_and_eta_count_the_methods_done_inside_a_chunk():
    from tie.lit.progress import ProgressState

    st = ProgressState(total=32, done=0, title="t", methods=["single:a", "post", "tie:tcc", "vote"])
    assert "rate -" in st.line() and "ETA -" in st.line()
    st.chunk_rows, st.method, st.round = 16, "tie:tcc", 3  # 2 of 4 methods done on 16 problems
    line = st.line(now=st.t0 + 10.0)  # 8 problem-equivalents in 10 s
    assert "0/32 problems (0%) | tie:tcc round 3 | 0.8 problems/s | elapsed 0:00:10" in line
    assert line.endswith("ETA 0:00:30")  # 24 left at 0.8/s
    st.done, st.chunk_rows, st.method, st.round = 32, 0, "vote", None
    assert st.line(now=st.t0 + 40.0).endswith("32/32 problems (100%) | vote | 0.8 problems/s | "
                                               "elapsed 0:00:40 | ETA 0:00:00")  # fmt: skip


# ---- mistakes that stick ---------------------------------------------------------------------


def test_zoo_name_typo_fails_before_the_run_dir_is_written_and_the_dir_can_be_retried(
    make_cfg, tmp_path
):
    run_dir = tmp_path / "run"
    with pytest.raises(Exception, match="unknown zoo model 'lada-a'") as err:
        execute(make_cfg("api=orch_fakes:fake_api_checked", "models=[zoo:lada-a,dream-b]",
                         "data.limit=4"))  # fmt: skip
    assert type(err.value).__module__.startswith("tie.")  # one line from tie-run
    assert not (run_dir / "plan.json").exists()
    execute(make_cfg("api=orch_fakes:fake_api_checked", "models=[zoo:llada-a,dream-b]",
                     "data.limit=4"))  # fmt: skip
    assert (run_dir / "predictions.jsonl").exists()


def test_a_run_that_decoded_nothing_can_be_replanned_in_the_same_dir(
    make_cfg, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    monkeypatch.setenv("ORCH_FAKE_CRASH_AFTER", "0")  # dies in the first chunk
    orch_fakes.CALLS["run_method"] = 0
    with pytest.raises(RuntimeError, match="simulated crash"):
        execute(make_cfg("data.limit=4"))
    assert (run_dir / "plan.json").exists() and not PredictionStore(run_dir).done_chunks()
    monkeypatch.delenv("ORCH_FAKE_CRASH_AFTER")
    execute(make_cfg("data.limit=4", "seed=1"))  # another plan, same dir: accepted
    assert len((run_dir / "predictions.jsonl").read_text().splitlines()) == 4 * 8
    meta = json.loads((run_dir / "meta.json").read_text())
    assert len(meta["starts"]) == 2 and meta["resumed"] is False


def test_a_refused_resume_names_each_changed_setting(make_cfg):
    execute(make_cfg("data.limit=4"))
    with pytest.raises(RunConfigError) as err:
        execute(make_cfg("data.limit=4", "seed=1", "ensemble.interval=5"))
    msg = str(err.value)
    assert "decode.seed: 0 -> 1" in msg and "options.interval: 8 -> 5" in msg
    assert "\n" not in msg


def test_plan_changes_are_leaf_keys_with_old_and_new_values():
    old = {"decode": {"seed": 0, "steps": None}, "methods": ["a"], "n_problems": 4}
    new = {"decode": {"seed": 1}, "methods": ["a", "b"], "n_problems": 4, "extra": True}
    assert plan_changes(old, new) == [
        "decode.seed: 0 -> 1",
        "decode.steps: null -> (absent)",
        "extra: (absent) -> true",
        'methods: ["a"] -> ["a", "b"]',
    ]


def _cli(argv: list[str], monkeypatch) -> None:
    from hydra.core.global_hydra import GlobalHydra

    from tie import run

    monkeypatch.setattr(sys, "argv", ["tie-run", *argv])
    GlobalHydra.instance().clear()
    run.main()


def test_a_refused_resume_leaves_hydra_files_and_meta_as_they_were(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    base = ["api=orch_fakes:fake_api", "logger=none", "progress=false", "threads=1",
            "data.limit=4", "stats.n_boot=50", f"paths.log_dir={tmp_path / 'logs'}",
            f"hydra.run.dir={run_dir}"]  # fmt: skip
    _cli(base, monkeypatch)
    hydra_dir = run_dir / ".hydra"
    names = ("config.yaml", "hydra.yaml", "overrides.yaml")
    before = {n: (hydra_dir / n).read_bytes() for n in names}
    meta_before = (run_dir / "meta.json").read_bytes()
    with pytest.raises(SystemExit) as exc:
        _cli([*base, "seed=1"], monkeypatch)
    assert "decode.seed: 0 -> 1" in str(exc.value)
    assert {n: (hydra_dir / n).read_bytes() for n in names} == before
    assert (run_dir / "meta.json").read_bytes() == meta_before

    time.sleep(1.1)  # a new start time
    _cli(base, monkeypatch)  # the same settings resume (nothing left to decode)
    meta = json.loads((run_dir / "meta.json").read_text())
    first = json.loads(meta_before)
    assert meta["started"] == first["started"] and meta["resumed"] is True
    assert [s["resumed"] for s in meta["starts"]] == [False, True]
    assert meta["starts"][1]["started"] != first["started"]
    assert meta["starts"][1]["command"].startswith("tie-run api=orch_fakes:fake_api")


# ---- one line instead of a traceback ---------------------------------------------------------


def test_a_full_disk_while_merging_loses_nothing_and_is_one_line(make_cfg, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    real_merge = PredictionStore.merge
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    def merge_on_full_disk(self, *args, **kwargs):
        monkeypatch.setattr(store_mod.os, "fsync", full_disk)
        try:
            return real_merge(self, *args, **kwargs)
        finally:
            monkeypatch.setattr(store_mod.os, "fsync", real_fsync)

    monkeypatch.setattr(PredictionStore, "merge", merge_on_full_disk)
    with pytest.raises(DiskFullError) as err:
        execute(make_cfg("data.limit=8"))
    msg = str(err.value)
    assert "predictions.jsonl" in msg and "\n" not in msg and f"hydra.run.dir={run_dir}" in msg
    assert type(err.value).__module__.startswith("tie.")  # tie-run prints it as one line
    assert PredictionStore(run_dir).done_chunks() == {0, 1}  # every part kept
    assert not (run_dir / "predictions.jsonl").exists()
    assert not list(run_dir.glob(".predictions.jsonl.*.tmp"))

    monkeypatch.setattr(PredictionStore, "merge", real_merge)
    orch_fakes.CALLS["run_method"] = 0
    execute(make_cfg("data.limit=8"))  # disk freed: the rerun merges without decoding
    assert orch_fakes.CALLS["run_method"] == 0
    execute(make_cfg("data.limit=8", run_dir=tmp_path / "clean"))
    strip = lambda p: [{k: v for k, v in json.loads(x).items() if k != "wall_s"}  # noqa: E731
                       for x in p.read_text().splitlines()]  # fmt: skip
    assert strip(run_dir / "predictions.jsonl") == strip(tmp_path / "clean" / "predictions.jsonl")


def test_a_missing_real_checkpoint_names_tie_models_dir(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("TIE_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(RunConfigError, match="TIE_MODELS_DIR") as err:
        execute(make_cfg("api=orch_fakes:fake_api_checked", "models=[llada-8b-instruct,dream-b]",
                         "data.limit=4"))  # fmt: skip
    assert "LLaDA-8B-Instruct" in str(err.value) and str(tmp_path / "models") in str(err.value)
    assert not (tmp_path / "run").exists()


# ---- config errors at once -------------------------------------------------------------------


def test_the_config_checking_path_does_not_import_lightning():
    code = (
        "import sys, tie.run, tie.runs.evaluate, tie.runs.plan, tie.runs.decode, tie.runs.api;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pytorch_lightning', 'lightning', 'lightning_fabric', 'transformers'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [("threads=0", "threads must be"), ("progress_every_s=0", "progress_every_s must be")],
)
def test_run_settings_are_checked_with_the_config(make_cfg, override, message):
    with pytest.raises(RunConfigError, match=message):
        execute(make_cfg(override))


def test_help_lists_the_run_groups_but_not_the_training_member_group(tmp_path):
    res = subprocess.run([sys.executable, "-m", "tie.run", "--help"], cwd=REPO,
                         env=subprocess_env(tmp_path), capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    groups = re.findall(r"^(\w+): ", res.stdout.split("== Config ==")[0], flags=re.M)
    assert {"model", "task", "decoding", "ensemble", "logger", "trainer", "launcher"} <= set(groups)
    assert "member" not in groups and "hydra" not in groups
    assert "experiment: " in res.stdout and "llada-a" in res.stdout
