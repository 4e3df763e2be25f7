"""`tie-run`: the Hydra entry point. Thin: compose the config, then call plain functions.

tie-run                                   # testbed comparison on the zoo (make run)
tie-run mode=decode model=llada-a prompt="1+2="
tie-run experiment=interval_ablation
tie-run experiment=injection              # mode=inject: evaluate + the injection study
tie-run -m launcher=joblib ensemble.interval=8,16,32 ensemble.scoring=tcc,top1
"""

from __future__ import annotations

import os
import sys

import hydra
from omegaconf import DictConfig

from tie.runs.errors import RunConfigError
from tie.runs.paths import CONF_DIR, register_resolvers

register_resolvers()


def check_config(cfg: DictConfig) -> None:
    """Every check that needs no model and no heavy import (torch, transformers, Lightning), so a
    config error is one line before Lightning or any model is loaded: every key and value against
    the schema (`tie.runs.schema`, through `build_plan` / `check_decode_config`), then the rest."""
    if cfg.mode == "decode":
        from tie.runs.decode import check_decode_config

        check_decode_config(cfg)
    elif cfg.mode in ("evaluate", "inject"):
        from tie.runs.plan import build_plan

        build_plan(cfg)
    else:
        raise RunConfigError(f"unknown mode {cfg.mode!r}; valid: ['evaluate', 'inject', 'decode']")
    every = cfg.get("progress_every_s", 30)
    if isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0:
        raise RunConfigError(f"progress_every_s must be a number of seconds > 0, got {every!r}")
    from tie.runs.threads import resolve_threads

    resolve_threads(cfg.get("threads"))  # threads=0 or threads=abc: named here


def execute(cfg: DictConfig) -> dict | str:
    """Run one job from a composed config (also the entry tests call through the compose API)."""
    from tie.runs.api import load_api
    from tie.runs.threads import apply_threads

    check_config(cfg)  # config errors first: no torch, no Lightning imported yet
    apply_threads(cfg.get("threads"), cfg.get("trainer"))  # before any work (meta.json records it)
    api = load_api(str(cfg.api))
    if cfg.mode == "decode":
        from tie.runs.decode import decode_prompt

        text = decode_prompt(cfg, api)
        print(text)
        return text
    from tie.runs.evaluate import evaluate

    return evaluate(cfg, api)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="run")
def _main(cfg: DictConfig) -> None:
    try:
        execute(cfg)
    except Exception as exc:
        if os.environ.get("TIE_DEBUG") or not is_user_error(exc):
            raise
        hint = HINTS.get(type(exc).__name__, "")
        sys.exit(f"tie-run: {type(exc).__name__}: {exc}{hint}\n(TIE_DEBUG=1 shows the traceback)")


# Errors our packages raise on purpose (bad config, missing data/checkpoints) are reported as one
# line; anything else is a bug and keeps its traceback.
HINTS = {
    "UnknownZooModelError": "\nzoo members are built with `make train MEMBER=<name>`",
}


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, RunConfigError) or type(exc).__module__.startswith("tie.")


def main() -> None:
    from tie.runs.schema import check_overrides

    try:  # an unknown key on the command line: the schema's one line, before Hydra composes
        check_overrides(sys.argv[1:])
    except RunConfigError as exc:
        if os.environ.get("TIE_DEBUG"):
            raise
        sys.exit(f"tie-run: RunConfigError: {exc}\n(TIE_DEBUG=1 shows the traceback)")
    _main()


if __name__ == "__main__":
    main()
