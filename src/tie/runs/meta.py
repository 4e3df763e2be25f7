"""Make a run dir self-describing: resolved config, overrides, git revision (+diff), versions."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from tie.runs.paths import REPO_ROOT
from tie.runs.store import atomic_write_json, atomic_write_text

PACKAGES = (
    "mdlm-tie",
    "torch",
    "transformers",
    "tokenizers",
    "pytorch-lightning",
    "hydra-core",
    "omegaconf",
    "wandb",
    "datasets",
    "numpy",
    "scipy",
)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(*args: str) -> str | None:
    try:
        res = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout if res.returncode == 0 else None


def git_info() -> dict[str, Any]:
    rev = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "revision": rev.strip() if rev else None,
        "dirty": bool(status.strip()) if status is not None else None,
    }


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The job's config with every interpolation resolved (the hydra node dropped)."""
    keys = [k for k in cfg if k != "hydra"]
    return OmegaConf.to_container(OmegaConf.masked_copy(cfg, keys), resolve=True)


def hydra_overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except (ValueError, ImportError, AttributeError):
        return []


def write_run_metadata(run_dir: Path, cfg: DictConfig, extra: dict[str, Any]) -> None:
    """config.yaml, overrides.yaml, meta.json and (when the tree is dirty) git.diff."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(resolved_config(cfg)))
    overrides = hydra_overrides()
    atomic_write_text(run_dir / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(overrides)))
    git = git_info()
    if git["dirty"]:
        diff = _git("diff", "HEAD")
        if diff:
            atomic_write_text(run_dir / "git.diff", diff)
    meta = {
        "command": " ".join(["tie-run", *overrides]),
        "argv": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git,
        "versions": package_versions(),
        **extra,
    }
    atomic_write_json(run_dir / "meta.json", meta)
