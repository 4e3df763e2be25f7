"""Where the repository, its conf/ tree and the zoo live, independent of the current directory."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[3]
CONF_DIR = Path(os.environ.get("TIE_CONF_DIR", REPO_ROOT / "conf"))


def register_resolvers() -> None:
    """`${tie_root:}` = repository root, so paths never depend on cwd (Hydra pitfall)."""
    if not OmegaConf.has_resolver("tie_root"):
        OmegaConf.register_new_resolver("tie_root", lambda: str(REPO_ROOT))
