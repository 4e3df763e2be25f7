"""Manifests of the published checkpoints: real configs and every parameter name -> shape.

They let a test prove, without downloading 16 GB, that our classes instantiated with the authors'
configs have exactly the authors' tensors, so the published checkpoints load unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

MANIFEST_DIR = Path(__file__).parent / "manifests"


def list_manifests() -> list[str]:
    return sorted(p.stem for p in MANIFEST_DIR.glob("*.json"))


def load_manifest(name: str) -> dict:
    path = MANIFEST_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"unknown manifest {name!r}; known: {list_manifests()}")
    return json.loads(path.read_text())


def meta_shapes(config_dict: dict, family: str) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of our class built from a published config on the meta device (no memory)."""
    from tie.models.loading import FAMILY_CLASSES, config_kwargs

    config_cls, model_cls = FAMILY_CLASSES[family]
    config = config_cls.from_dict(config_kwargs(config_dict))
    with torch.device("meta"):
        model = model_cls(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}
