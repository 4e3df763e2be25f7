"""`load_backend(spec)`: from a checkpoint directory, a zoo name or a mapping to an `MDLMBackend`.

All file and shape checks run on headers before any weights are read, so a wrong path or a
checkpoint of another size fails in milliseconds with the offending file or tensor named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from tie.hub import is_hub_id, resolve_hub_id
from tie.models.chat import encode_chat
from tie.models.checkpoint import (
    CheckpointError,
    check_remote_code,
    check_tokenizer_files,
    compare_shapes,
    read_config,
    tensor_shapes,
    weight_files,
)
from tie.models.dream import DreamConfig, DreamModel
from tie.models.llada import LLaDAConfig, LLaDAModelLM
from tie.models.native import (
    DOCUMENTED_MAX_LENGTH,
    TransformersBackend,
    default_dtype,
    resolve_mask_id,
)

FAMILY_CLASSES = {"llada": (LLaDAConfig, LLaDAModelLM), "dream": (DreamConfig, DreamModel)}
ARCHITECTURE_FAMILY = {"LLaDAModelLM": "llada", "DreamModel": "dream"}
BACKENDS = ("native", "hf_remote")
ZOO_PREFIX = "zoo:"


class UnknownZooModelError(KeyError, ValueError):
    """`zoo:<name>` names no zoo model; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def zoo_root() -> Path:
    """`$TIE_ZOO_DIR`, else the repository's top-level `zoo/`."""
    env = os.environ.get("TIE_ZOO_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "zoo"


def list_zoo() -> list[str]:
    """Names of the zoo models (sub-directories with a config.json), sorted."""
    root = zoo_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def zoo_path(name: str) -> Path:
    known = list_zoo()
    if name not in known:
        raise UnknownZooModelError(
            f"unknown zoo model {name!r} under {str(zoo_root())!r}; known: {known or 'none'}"
        )
    return zoo_root() / name


def detect_family(config: Mapping[str, Any], path: Path) -> str:
    """Family from `model_type` (llada / Dream) or `architectures` in config.json."""
    model_type = str(config.get("model_type", "")).lower()
    if model_type in FAMILY_CLASSES:
        return model_type
    for arch in config.get("architectures") or []:
        if arch in ARCHITECTURE_FAMILY:
            return ARCHITECTURE_FAMILY[arch]
    raise CheckpointError(
        f"cannot tell the model family of {str(path)!r} (model_type={config.get('model_type')!r}, "
        f"architectures={config.get('architectures')!r}); pass family= one of {sorted(FAMILY_CLASSES)}"
    )


def _parse_spec(spec: Any) -> tuple[Path, str, str | None, str]:
    """(path, backend, family override, display name) from any accepted spec form."""
    if isinstance(spec, str | os.PathLike):
        spec = {"path": spec}
    if not isinstance(spec, Mapping):
        raise TypeError(f"backend spec must be a path, 'zoo:<name>' or a mapping, got {type(spec)}")
    if "path" not in spec or spec["path"] in (None, ""):
        raise ValueError(f"backend spec {dict(spec)!r} has no 'path'")
    raw = str(spec["path"])
    backend = str(spec.get("backend") or "native")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {list(BACKENDS)}")
    family = spec.get("family")
    if family is not None and family not in FAMILY_CLASSES:
        raise ValueError(f"unknown family {family!r}; known: {sorted(FAMILY_CLASSES)}")
    if raw.startswith(ZOO_PREFIX):
        path = zoo_path(raw[len(ZOO_PREFIX) :])
        name = raw
    elif is_hub_id(raw):  # owner/name[@rev]: its snapshot in the Hugging Face cache
        path = resolve_hub_id(raw)
        name = raw
    else:
        path = Path(raw).expanduser()
        name = path.name
    return path, backend, family, str(spec.get("name") or name)


_TOKENIZERS: dict[tuple, PreTrainedTokenizerBase] = {}
_TOKENIZER_CACHE_SIZE = 8


def _folder_signature(path: Path) -> tuple:
    """Names, sizes and mtimes of a checkpoint folder's non-weight files (a changed file is a new
    key). The weights are left out: they do not define the tokenizer."""
    return tuple(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(path.iterdir())
        if p.is_file() and not p.name.endswith(".safetensors")
    )


def load_tokenizer(path: Path, family: str, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer, read once per process per folder state (a run reads it before
    any weights to check its canvases, then again to load; a Qwen2 BPE takes seconds to build).
    See `_read_tokenizer`."""
    key = (str(Path(path).resolve()), family, trust_remote_code, _folder_signature(Path(path)))
    if key not in _TOKENIZERS:
        if len(_TOKENIZERS) >= _TOKENIZER_CACHE_SIZE:
            _TOKENIZERS.pop(next(iter(_TOKENIZERS)))
        _TOKENIZERS[key] = _read_tokenizer(Path(path), family, trust_remote_code)
    return _TOKENIZERS[key]


def _read_tokenizer(path: Path, family: str, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer; Dream's custom tokenizer class falls back to Qwen2's.

    Dream ships `tokenization_dream.py` (a Qwen2 BPE tokenizer); without remote code we read the
    same files: `tokenizer.json` when present, else vocab/merges with transformers' Qwen2 tokenizer.
    """
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (ValueError, OSError) as err:
        if family != "dream" or trust_remote_code:
            raise CheckpointError(f"cannot load the tokenizer of {str(path)!r}: {err}") from err
        from transformers import PreTrainedTokenizerFast, Qwen2Tokenizer

        if (path / "tokenizer.json").is_file():
            return PreTrainedTokenizerFast.from_pretrained(path)
        return Qwen2Tokenizer.from_pretrained(path)


def expected_shapes(cls: type, config: Any) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = cls(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def parse_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    """A torch dtype from a dtype, its name ("bfloat16", "torch.float32") or None/"auto"."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = str(dtype).removeprefix("torch.")
    if name == "auto":
        return None
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise ValueError(f"unknown dtype {dtype!r}; use e.g. 'float32' or 'bfloat16'")
    return value


@dataclass(frozen=True)
class CheckpointInfo:
    """What a run can know of a checkpoint without its weights: every file check has passed."""

    name: str
    path: Path
    family: str
    backend: str
    config: dict
    tokenizer: PreTrainedTokenizerBase
    mask_id: int
    max_length: int
    weight_files: tuple[Path, ...]

    def chat_prompt(self, user_message: str, system: str | None = None) -> list[int]:
        """Prompt ids exactly as the loaded backend will build them (same template, same BOS)."""
        return encode_chat(self.tokenizer, self.family, user_message, system)


def inspect_checkpoint(spec: Any) -> CheckpointInfo:
    """Every check `load_backend` makes before reading weights, and the tokenizer: config,
    family, weight files and their shapes (headers only), tokenizer files and mask id.

    Runs read this first so that lengths and tokenizer-dependent options fail before any model
    loads; a missing file is named."""
    path, backend, family, name = _parse_spec(spec)
    config_dict = read_config(path)
    family = family or detect_family(config_dict, path)
    files = weight_files(path)
    check_tokenizer_files(path)
    remote = backend == "hf_remote"
    if remote:
        check_remote_code(path, config_dict)  # the auto_map code files, before anything loads
    tokenizer = load_tokenizer(path, family, trust_remote_code=remote)
    mask_id = resolve_mask_id(config_dict.get("mask_token_id"), tokenizer)
    if not remote:
        config_cls, model_cls = FAMILY_CLASSES[family]
        config = config_cls.from_dict(config_kwargs(config_dict))
        compare_shapes(expected_shapes(model_cls, config), tensor_shapes(files), str(path))
    limits = [DOCUMENTED_MAX_LENGTH[family]] + [
        int(config_dict[k])
        for k in ("max_sequence_length", "max_position_embeddings")
        if config_dict.get(k)
    ]
    return CheckpointInfo(
        name=name,
        path=path,
        family=family,
        backend=backend,
        config=config_dict,
        tokenizer=tokenizer,
        mask_id=mask_id,
        max_length=min(limits),
        weight_files=tuple(files),
    )


def load_backend(
    spec: Any, device: str | torch.device | None = "cpu", dtype: torch.dtype | str | None = None
) -> TransformersBackend:
    """Load a checkpoint directory, `"zoo:<name>"` or `{path, backend, family, name}` as a backend.

    dtype (a torch dtype or its name) defaults to float32 on CPU and bfloat16 elsewhere; device
    None means CPU. Every file and shape check (`inspect_checkpoint`) runs before weights are read.
    """
    info = inspect_checkpoint(spec)
    device = torch.device(device or "cpu")
    dtype = parse_dtype(dtype) or default_dtype(device)
    remote = info.backend == "hf_remote"
    if remote:
        model = AutoModel.from_pretrained(info.path, trust_remote_code=True, dtype=dtype)
    else:
        config_cls, model_cls = FAMILY_CLASSES[info.family]
        config = config_cls.from_dict(config_kwargs(info.config))
        model = model_cls.from_pretrained(info.path, config=config, dtype=dtype)
    model.to(device)
    return TransformersBackend(model, info.tokenizer, info.family, info.name, remote=remote)


def config_kwargs(config_dict: dict) -> dict:
    """The authors' config.json minus keys that only matter to their remote code.

    A null `rope_scaling` is dropped too: transformers 5 warns about the legacy key even when unset.
    """
    drop = {"auto_map", "model_type", "architectures", "transformers_version"}
    out = {k: v for k, v in config_dict.items() if k not in drop}
    if out.get("rope_scaling", 0) is None:
        del out["rope_scaling"]
    return out


__all__ = [
    "CheckpointInfo",
    "UnknownZooModelError",
    "inspect_checkpoint",
    "list_zoo",
    "load_backend",
    "load_tokenizer",
    "zoo_root",
]
