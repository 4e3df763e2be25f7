"""Checks on a checkpoint directory, done from file headers before any weights are loaded.

A user pointing at the wrong folder or a checkpoint of another size should get one clear sentence
naming the missing file or the first mismatching tensor, not a stack trace from deep inside
transformers after minutes of loading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from safetensors import safe_open

WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SLOW_VOCAB_FILES = ("vocab.json", "merges.txt")
TOKENIZER_FILES = (TOKENIZER_JSON, TOKENIZER_CONFIG)


class CheckpointError(ValueError):
    """The checkpoint directory is incomplete or does not fit the model class."""


def read_config(path: Path) -> dict:
    """The parsed `config.json` of a checkpoint directory."""
    if not path.is_dir():
        raise CheckpointError(f"checkpoint directory {str(path)!r} does not exist")
    cfg = path / "config.json"
    if not cfg.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} is missing config.json")
    try:
        return json.loads(cfg.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{cfg} is not valid JSON: {err}") from err


def weight_files(path: Path) -> list[Path]:
    """The safetensors files of a checkpoint (single file or every shard of the index)."""
    index = path / WEIGHTS_INDEX
    if index.is_file():
        weight_map = json.loads(index.read_text()).get("weight_map") or {}
        if not weight_map:
            raise CheckpointError(f"{index} has no weight_map")
        shards = sorted(set(weight_map.values()))
        for shard in shards:
            if not (path / shard).is_file():
                raise CheckpointError(
                    f"checkpoint {str(path)!r} is missing weight shard {shard} (listed in {WEIGHTS_INDEX})"
                )
        return [path / s for s in shards]
    if (path / WEIGHTS).is_file():
        return [path / WEIGHTS]
    raise CheckpointError(
        f"checkpoint {str(path)!r} is missing its weights: {WEIGHTS} or {WEIGHTS_INDEX} + shards"
    )


def check_tokenizer_files(path: Path) -> None:
    """The tokenizer's settings and its vocabulary must both be there, named if missing.

    Settings: `tokenizer_config.json`. Vocabulary: `tokenizer.json` (fast layout, e.g. LLaDA) or
    `vocab.json` + `merges.txt` (the slow BPE layout of Dream's `tokenization_dream.py`).
    """
    missing = [] if (path / TOKENIZER_CONFIG).is_file() else [TOKENIZER_CONFIG]
    if not (path / TOKENIZER_JSON).is_file():
        slow = [name for name in SLOW_VOCAB_FILES if not (path / name).is_file()]
        if len(slow) == len(SLOW_VOCAB_FILES):
            missing.append(f"{TOKENIZER_JSON} (or {' + '.join(SLOW_VOCAB_FILES)})")
        elif slow:
            missing.append(
                f"{slow[0]} (needed with {' + '.join(SLOW_VOCAB_FILES)} when there is no {TOKENIZER_JSON})"
            )
    if missing:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is missing tokenizer file(s): {', '.join(missing)}"
        )


def tensor_shapes(files: list[Path]) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor, read from the safetensors headers only."""
    shapes: dict[str, tuple[int, ...]] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not a dict
                shapes[key] = tuple(f.get_slice(key).get_shape())
    return shapes


def compare_shapes(
    expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]], where: str
) -> None:
    """Raise naming the first mismatching tensor, then missing, then unexpected names."""
    for key, shape in expected.items():
        if key in found and tuple(found[key]) != tuple(shape):
            raise CheckpointError(
                f"{where}: tensor {key!r} has shape {tuple(found[key])} in the checkpoint "
                f"but the model expects {tuple(shape)}"
            )
    missing = [k for k in expected if k not in found]
    if missing:
        raise CheckpointError(
            f"{where}: {len(missing)} tensor(s) missing from the checkpoint, first {missing[0]!r} "
            f"(expected shape {tuple(expected[missing[0]])})"
        )
    unexpected = [k for k in found if k not in expected]
    if unexpected:
        raise CheckpointError(
            f"{where}: {len(unexpected)} unexpected tensor(s) in the checkpoint, first "
            f"{unexpected[0]!r} with shape {tuple(found[unexpected[0]])}"
        )
