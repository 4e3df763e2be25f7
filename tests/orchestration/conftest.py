"""Compose tie-run configs in-process (Hydra compose API) with the fake stack and a tmp run dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from tie.runs.paths import CONF_DIR, register_resolvers

FAKES_DIR = Path(__file__).parent
REPO = FAKES_DIR.parents[1]


def compose_run(overrides: list[str], run_dir: Path | None = None) -> DictConfig:
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    if run_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(run_dir)
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Fake stack, 12 problems, no W&B unless asked; run dir = tmp_path/run."""
    torch.set_num_threads(1)
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"

    def make(*overrides: str, run_dir: Path | None = None) -> DictConfig:
        base = [
            "api=orch_fakes:fake_api",
            "logger=none",
            "progress=false",
            "threads=1",
            "data.limit=null",
            "data.batch_size=4",
            "stats.n_boot=200",
            f"paths.log_dir={tmp_path / 'logs'}",
        ]
        return compose_run(base + list(overrides), run_dir or tmp_path / "run")

    return make


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(FAKES_DIR), env.get("PYTHONPATH", "")]),
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS="1",
        TIE_LOG_DIR=str(tmp_path / "logs"),
    )
    return env
