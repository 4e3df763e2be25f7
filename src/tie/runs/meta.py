"""Make a run dir self-describing: resolved config, overrides, git revision (+diff), versions."""

from __future__ import annotations

import json
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


HYDRA_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")
ACCEPTED = "accepted"  # .hydra/accepted/: the files of the last start whose plan was accepted


def hydra_output_dir(run_dir: Path) -> Path:
    """`<run dir>/.hydra` (hydra.output_subdir) of this job."""
    try:
        from hydra.core.hydra_config import HydraConfig

        sub = HydraConfig.get().output_subdir
    except (ValueError, ImportError, AttributeError):
        sub = ".hydra"
    return run_dir / str(sub or ".hydra")


def save_hydra_files(run_dir: Path) -> None:
    """Keep a copy of the .hydra files of an accepted start, so a later refused start (Hydra
    writes its files before the plan is checked) can put them back."""
    src = hydra_output_dir(run_dir)
    for name in HYDRA_FILES:
        if (src / name).is_file():
            atomic_write_text(src / ACCEPTED / name, (src / name).read_text())


def restore_hydra_files(run_dir: Path) -> None:
    """A refused resume: the .hydra files go back to those of the run that owns the dir."""
    src = hydra_output_dir(run_dir)
    for name in HYDRA_FILES:
        kept = src / ACCEPTED / name
        if kept.is_file():
            atomic_write_text(src / name, kept.read_text())


def write_run_metadata(run_dir: Path, cfg: DictConfig, extra: dict[str, Any]) -> None:
    """config.yaml, overrides.yaml, meta.json and (when the tree is dirty) git.diff.

    meta.json describes the first start at the top level; `starts` lists every start (time,
    command, argv, host, git revision, resumed, threads), so a resume adds to the history."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(resolved_config(cfg)))
    overrides = hydra_overrides()
    atomic_write_text(run_dir / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(overrides)))
    git = git_info()
    if git["dirty"]:
        diff = _git("diff", "HEAD")
        if diff:
            atomic_write_text(run_dir / "git.diff", diff)
    start = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["tie-run", *overrides]),
        "argv": sys.argv,
        "host": socket.gethostname(),
        "git_revision": git["revision"],
        "resumed": bool(extra.get("resumed")),
        "threads": extra.get("threads"),
    }
    meta = {
        "command": start["command"],
        "argv": sys.argv,
        "started": start["started"],
        "host": start["host"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git,
        "versions": package_versions(),
        **extra,
    }
    path = run_dir / "meta.json"
    old: dict[str, Any] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            old = {}
    first = {k: old[k] for k in ("command", "argv", "started", "host") if k in old}
    history = old.get("starts") or ([{**first, "resumed": False}] if first else [])
    if extra.get("resumed"):  # the top level stays the run's first start
        meta.update(first)
    meta["starts"] = [*history, start]  # a re-planned dir keeps its failed starts too
    atomic_write_json(path, meta)
