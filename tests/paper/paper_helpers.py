"""Helpers of the paper-path tier: overlays and their sweep points, tie-run in-process, and an api
that records whether any weights were read."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from hydra.core.global_hydra import GlobalHydra

from tie.runs.api import Api, default_api
from tie.runs.paths import CONF_DIR, REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "benchmarks"
# The paper's decoding (decoding=default: blocks of 16, strict, one token per step) on a canvas
# of two blocks: at the published vocabularies (126k / 152k) one CPU step costs 60-90 ms, so the
# paper's 256-512 positions per decode would take minutes per run. Real lengths are checked for
# every point by test_every_point_lays_out_the_paper_canvas_before_weights_load.
SMALL_CANVAS = ["task.options.gen_length=32", "task.options.answer_len=8"]
CALLS: dict[str, list[Any]] = {"load_backend": [], "inspect_model": []}


def overlays() -> list[str]:
    """Every overlay in conf/experiment/, whatever other branches add."""
    return sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def overlay_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF_DIR / "experiment" / f"{name}.yaml").read_text()) or {}


def sweep_points(name: str) -> list[dict[str, str]]:
    """The overlay's own sweep (hydra.sweeper.params) as one override dict per point."""
    params = ((overlay_yaml(name).get("hydra") or {}).get("sweeper") or {}).get("params") or {}
    keys = list(params)
    values = [[v.strip() for v in str(params[k]).split(",")] for k in keys]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def tie_run(argv: list[str], monkeypatch) -> None:
    """`tie-run <argv>` through the CLI's own entry (Hydra main), in this process."""
    from tie import run

    monkeypatch.setattr(sys, "argv", ["tie-run", *argv])
    GlobalHydra.instance().clear()
    run.main()


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def recording_api() -> Api:
    """The real stack, with `load_backend` (reads weights) and `inspect_model` (does not) logged."""
    api = default_api()
    load, inspect = api.load_backend, api.inspect_model

    def load_backend(spec: Any, *args: Any, **kwargs: Any) -> Any:
        CALLS["load_backend"].append(spec)
        return load(spec, *args, **kwargs)

    def inspect_model(spec: Any) -> Any:
        CALLS["inspect_model"].append(spec)
        return inspect(spec)

    api.load_backend, api.inspect_model = load_backend, inspect_model
    return api
