"""Composing tie-run's configs in tests: one helper for tests/test_configs.py and
tests/test_paper_experiments.py (every config group option, every overlay and its sweep)."""

from __future__ import annotations

import copy
import itertools
from functools import cache

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from tie.runs.compose import compose_run as _compose
from tie.runs.paths import CONF_DIR

GROUPS = ("model", "task", "decoding", "ensemble", "logger", "trainer", "launcher")
EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def options(group: str) -> list[str]:
    """Every option of a config group (`conf/<group>/*.yaml`)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose_run(overrides: list[str]) -> DictConfig:
    """The run config `tie-run` composes (Hydra node kept, output dir under /tmp); a copy, so a
    test may change it. Compositions are cached: both test files walk the same overlay grid."""
    from hydra.core.hydra_config import HydraConfig

    cfg = copy.deepcopy(_composed(tuple(overrides)))
    HydraConfig.instance().set_config(cfg)
    return cfg


@cache
def _composed(overrides: tuple[str, ...]) -> DictConfig:
    return _compose(["paths.output_dir=/tmp/x", *overrides], hydra_config=True)


def sweep_points(overlay: str) -> list[list[str]]:
    """Every job of `tie-run -m experiment=<overlay>`: the full grid of its sweeper params, each
    axis expanded by Hydra's own override parser ([[]] when the overlay sweeps nothing)."""
    cfg = compose_run([f"experiment={overlay}"])
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    parser = OverridesParser.create()
    axes = []
    for key, values in params.items():
        (override,) = parser.parse_overrides([f"{key}={values}"])
        axes.append([f"{key}={v}" for v in override.sweep_string_iterator()])
    return [list(p) for p in itertools.product(*axes)]
