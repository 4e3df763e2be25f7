"""Compose tie-run's config in-process (Hydra's compose API): the Python API's one hop from
command-line overrides to the config `build_plan` / `execute` take.

The overrides go through the schema first (`tie.runs.schema.check_overrides`), so an unknown key
is the same one line here as on `tie-run`'s command line and in `tie-lm-eval`'s model args.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, open_dict

from tie.runs.errors import RunConfigError
from tie.runs.paths import CONF_DIR, register_resolvers
from tie.runs.schema import check_overrides


def compose_run(
    overrides: Sequence[str] = (),
    *,
    output_dir: str | Path | None = None,
    hydra_config: bool = False,
) -> DictConfig:
    """`conf/run.yaml` with `overrides`; `output_dir` sets `paths.output_dir` (else Hydra's run
    dir, which needs `hydra_config=True`: the Hydra node is kept and registered, as a run has it)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException

    overrides = list(overrides)
    check_overrides(overrides)
    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("run", overrides=overrides, return_hydra_config=hydra_config)
    except HydraException as exc:  # e.g. an unknown group option: Hydra lists the valid ones
        raise RunConfigError(" ".join(str(exc).split())) from exc
    finally:
        GlobalHydra.instance().clear()
    if hydra_config:
        HydraConfig.instance().set_config(cfg)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg
