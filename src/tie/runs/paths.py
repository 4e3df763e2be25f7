"""Where the repository, its conf/ tree and the zoo live, independent of the current directory."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[3]
CONF_DIR = Path(os.environ.get("TIE_CONF_DIR", REPO_ROOT / "conf"))


# conf/ groups that tie-run does not read (tie-train's `member`), left out of `tie-run --help`
NOT_RUN_GROUPS = ("hydra", "member")


def run_groups_help() -> str:
    """`group: option, ...` per tie-run config group, as Hydra's help prints them."""
    lines = []
    for d in sorted(p for p in CONF_DIR.iterdir() if p.is_dir()):
        options = sorted(f.stem for f in d.glob("*.yaml"))
        if d.name not in NOT_RUN_GROUPS and options:
            lines.append(f"{d.name}: {', '.join(options)}")
    return "\n".join(lines)


def register_resolvers() -> None:
    """`${tie_root:}` = repository root, so paths never depend on cwd (Hydra pitfall);
    `${tie_run_groups:}` = tie-run's config groups for its --help."""
    if not OmegaConf.has_resolver("tie_root"):
        OmegaConf.register_new_resolver("tie_root", lambda: str(REPO_ROOT))
    if not OmegaConf.has_resolver("tie_run_groups"):
        OmegaConf.register_new_resolver("tie_run_groups", run_groups_help)
