"""Every config group option and every experiment overlay composes (Hydra compose API), resolves,
and passes the run-plan checks; sweep axes of the overlays compose too."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from tie.runs.meta import resolved_config
from tie.runs.paths import CONF_DIR, register_resolvers
from tie.runs.plan import build_plan

GROUPS = ("model", "task", "decoding", "ensemble", "logger", "trainer", "launcher")
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose_run(overrides: list[str]):
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "run", overrides=["paths.output_dir=/tmp/x", *overrides], return_hydra_config=True
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_every_expected_option_exists():
    assert {"llada-8b-instruct", "llada-1.5", "dream-7b-instruct", "dreamcoder-7b", "diffucoder-7b",
            "llada-a", "dream-b", "llada-c"} <= set(options("model"))  # fmt: skip
    assert set(options("logger")) == {"wandb", "csv", "none"}
    assert {"cpu", "gpu", "ddp_cpu", "ddp"} <= set(options("trainer"))
    assert {"basic", "joblib", "submitit"} <= set(options("launcher"))
    assert {"synth_math", "synth_countdown", "mmlu", "mmlu_star", "arc_c", "winogrande", "gsm8k",
            "math500", "humaneval", "mbpp", "countdown"} <= set(options("task"))  # fmt: skip
    assert len(EXPERIMENTS) >= 12


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_group_option_composes_and_resolves(group, option):
    cfg = compose_run([f"{group}={option}"])
    resolved = resolved_config(cfg)
    if group not in ("launcher",):
        assert resolved[group] is not None
    build_plan(cfg)


def test_default_is_the_testbed_comparison_on_the_zoo_on_cpu():
    cfg = compose_run([])
    plan = build_plan(cfg)
    assert plan.task_name == "synth_math"
    assert [m.name for m in plan.models] == ["llada-a", "dream-b", "llada-c"]
    assert plan.methods == ["single:llada-a", "single:dream-b", "single:llada-c", "post",
                            "tie:tcc", "tie:top1", "tie:entropy", "tie:margin"]  # fmt: skip
    assert cfg.trainer.accelerator == "cpu" and cfg.logger.kind == "wandb"
    assert cfg.logger.mode in ("offline", "disabled", "online")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_with_each_sweep_point(experiment):
    cfg = compose_run([f"experiment={experiment}"])
    build_plan(cfg)
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    for key, values in params.items():
        for value in str(values).split(","):
            build_plan(compose_run([f"experiment={experiment}", f"{key}={value}"]))


def test_real_model_paths_come_from_the_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TIE_MODELS_DIR", str(tmp_path))
    plan = build_plan(compose_run(["experiment=main_results_math"]))
    assert plan.models[0].spec["path"] == f"{tmp_path}/LLaDA-1.5"
    assert plan.models[1].spec["family"] == "dream"
    assert plan.per_method == {}
    general = build_plan(compose_run(["experiment=main_results_general"]))
    assert general.interval("tie:tcc") == 32 and general.interval("tie:top1") == 16


def test_unknown_group_option_lists_the_valid_ones():
    with pytest.raises(MissingConfigException) as err:
        compose_run(["model=llada-9"])
    assert "llada-1.5" in str(err.value) and "dream-b" in str(err.value)
