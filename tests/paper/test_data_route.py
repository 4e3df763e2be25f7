"""The data route: paths.data_dir / TIE_DATA_DIR reaches every benchmark task (its folder
<data_dir>/<task.data_subdir>), task.options.data_dir / data_files work without `+` and win, and
a missing folder is named in the error, before any model loads."""

from __future__ import annotations

from pathlib import Path

import paper_helpers as ph
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from tie.runs.paths import CONF_DIR, register_resolvers
from tie.runs.plan import build_plan
from tie.tasks import get_task
from tie.tasks.base import TaskDataError

BENCHMARKS = sorted(
    p.stem
    for p in (CONF_DIR / "task").glob("*.yaml")
    if "data_subdir" in yaml.safe_load(p.read_text())
)


def compose_run(*overrides: str, run_dir: Path | None = None):
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    if run_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(run_dir)
    return cfg


def test_the_benchmarks_are_the_registry_minus_the_testbed():
    assert BENCHMARKS == ["arc_c", "countdown", "gsm8k", "humaneval", "math500", "mbpp", "mmlu",
                          "mmlu_star", "winogrande"]  # fmt: skip


@pytest.mark.parametrize("task", BENCHMARKS)
def test_tie_data_dir_reaches_every_benchmark_and_the_fixtures_load(task, monkeypatch):
    monkeypatch.setenv("TIE_DATA_DIR", str(ph.FIXTURES))
    plan = build_plan(compose_run(f"task={task}"))
    sub = "mmlu" if task == "mmlu_star" else task
    assert plan.task_options == {"data_dir": str(ph.FIXTURES / sub)}
    rows = get_task(task, **plan.task_options).load()
    assert len(rows) >= 1 and len(set(rows["id"])) == len(rows)


def test_paths_data_dir_and_task_options_without_plus(tmp_path, monkeypatch):
    monkeypatch.delenv("TIE_DATA_DIR", raising=False)
    (tmp_path / "gsm8k").mkdir()
    plan = build_plan(compose_run("task=gsm8k", f"paths.data_dir={tmp_path}"))
    assert plan.task_options == {"data_dir": str(tmp_path / "gsm8k")}
    other = ph.FIXTURES / "gsm8k"
    plan = build_plan(compose_run("task=gsm8k", f"paths.data_dir={tmp_path}",
                                  f"task.options.data_dir={other}"))  # fmt: skip
    assert plan.task_options == {"data_dir": str(other)}
    file = other / "test.jsonl"
    plan = build_plan(compose_run("task=gsm8k", f"task.options.data_files={file}"))
    assert plan.task_options == {"data_files": str(file)}
    assert len(get_task("gsm8k", **plan.task_options).load()) == 3


def test_no_folder_leaves_the_task_its_own_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("TIE_DATA_DIR", str(tmp_path / "nowhere"))
    assert build_plan(compose_run("task=gsm8k")).task_options == {}


def test_a_missing_folder_is_named_before_any_model_loads(tmp_path, monkeypatch):
    from tie.run import execute

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TIE_DATA_DIR", str(tmp_path / "nowhere"))
    for calls in ph.CALLS.values():
        calls.clear()
    cfg = compose_run("task=gsm8k", "api=paper_helpers:recording_api", "logger=none",
                      run_dir=tmp_path / "run")  # fmt: skip
    with pytest.raises(TaskDataError, match=f"looked for the folder {tmp_path / 'nowhere'}/gsm8k"):
        execute(cfg)
    assert not ph.CALLS["load_backend"] and not ph.CALLS["inspect_model"]
