"""Which models the benchmark runs: the zoo, zoo-shaped random models, or real-shaped ones.

* `zoo`: the trained testbed members (`tie.models.list_zoo()`), loaded with `load_backend`.
* `tiny`: random-initialised models of our classes with the zoo members' sizes and tokenizers
  (`conf/member/<name>.yaml`), for when the zoo is not built yet. Speed does not depend on the
  weights, only on the shapes, so these time the same work the zoo would.
* `real`: random-initialised models with the published LLaDA-8B-Instruct / Dream-7B-Instruct
  configs (`tie.models.manifests`), meant for a GPU in bf16; `real_size="vocab"` keeps the
  published vocabulary but shrinks the body (vocabulary-bound decoding costs, on a CPU);
  `real_size="tiny"` keeps every code path but shrinks all shapes, for tests.

Real-shaped models need a tokenizer that covers their whole vocabulary (a random model emits any
id, and the ensemble decodes them to text for the cross-tokenizer relay): we build a
character-level one whose filler entries are single code points, with the family's special tokens
at the published ids, so text round trips are one token per character in both vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from tie.models import DreamConfig, DreamModel, LLaDAConfig, LLaDAModelLM, TransformersBackend

MODEL_SOURCES = ("auto", "zoo", "tiny", "real")
REAL_SIZES = ("full", "vocab", "tiny")
ZOO_MEMBERS = ("llada-a", "dream-b", "llada-c")
REAL_MODELS = {"llada-8b": "llada-8b-instruct", "dream-7b": "dream-7b-instruct"}
MEMBER_DIR = Path(__file__).resolve().parents[3] / "conf" / "member"


def small_arch(family: str, width: int, layers: int) -> dict[str, int]:
    """Every shape field a family config needs, at a small width (4 heads; Dream keeps GQA)."""
    if family == "llada":
        return {
            "d_model": width,
            "n_heads": 4,
            "n_kv_heads": 4,
            "n_layers": layers,
            "mlp_hidden_size": 2 * width,
        }
    return {
        "hidden_size": width,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_hidden_layers": layers,
        "intermediate_size": 2 * width,
    }


# real_size="tiny": every code path, tiny shapes and vocabulary (tests of the GPU path on CPU).
_TINY_ARCH = {f: small_arch(f, 32, 1) for f in ("llada", "dream")}
_TINY_VOCAB = 512
# real_size="vocab": the published vocabulary and special ids with a small body, so the
# vocabulary-dependent costs of decoding (output head, softmax, float32 copies) are real while a
# CPU can still run it.
_VOCAB_ARCH = {f: small_arch(f, 256, 2) for f in ("llada", "dream")}
# Special tokens of the published tokenizers: (token, config key that holds its id, or a fixed id).
_REAL_SPECIALS = {
    "llada": {
        "<|endoftext|>": 126081,
        "<|startoftext|>": 126080,
        "<|start_header_id|>": 126346,
        "<|end_header_id|>": 126347,
        "<|eot_id|>": 126348,
        "<|mdm_mask|>": 126336,
    },
    "dream": {
        "<|endoftext|>": 151643,
        "<|im_start|>": 151644,
        "<|im_end|>": 151645,
        "<|mask|>": 151666,
    },
}
_TOKEN_ROLES = {
    "llada": {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
    },
    "dream": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "mask_token": "<|mask|>"},
}
_FILLER_BASE = 0x10000  # code points above the BMP: never in prompts, one token each


class BenchInputError(ValueError):
    """Bad benchmark arguments (raised before any model is built or timed)."""


@dataclass
class BenchModel:
    """A named backend and where it came from."""

    name: str
    backend: Any
    source: str  # zoo | tiny | real
    n_params: int


def resolve_source(source: str) -> str:
    """`auto` -> `zoo` when every zoo member is built, else `tiny`."""
    if source not in MODEL_SOURCES:
        raise BenchInputError(f"unknown model source {source!r}; choose one of {MODEL_SOURCES}")
    if source != "auto":
        return source
    from tie.models import list_zoo

    return "zoo" if set(ZOO_MEMBERS) <= set(list_zoo()) else "tiny"


def default_names(source: str) -> list[str]:
    return list(REAL_MODELS) if source == "real" else ["llada-a", "dream-b"]


def check_names(source: str, names: list[str]) -> None:
    known = list(REAL_MODELS) if source == "real" else list(ZOO_MEMBERS)
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise BenchInputError(
            f"models {bad or names} not available for source {source!r}; known: {known}"
        )


def build_models(
    source: str,
    names: list[str],
    devices: list[torch.device],
    dtype: torch.dtype,
    real_size: str = "full",
    seed: int = 0,
) -> list[BenchModel]:
    """One backend per name; model i goes to `devices[i % len(devices)]`."""
    check_names(source, names)
    if real_size not in REAL_SIZES:
        raise BenchInputError(f"real_size must be one of {REAL_SIZES}, got {real_size!r}")
    out = []
    for i, name in enumerate(names):
        dev = devices[i % len(devices)]
        if source == "zoo":
            from tie.models import load_backend

            backend = load_backend(f"zoo:{name}", device=dev, dtype=dtype)
        elif source == "tiny":
            backend = tiny_member_backend(name, dev, dtype, seed + i)
        else:
            backend = real_shape_backend(name, dev, dtype, real_size, seed + i)
        n_params = sum(p.numel() for p in backend.model.parameters())
        out.append(BenchModel(name, backend, source, n_params))
    return out


def _seeded_model(cls: type, config: Any, device: torch.device, dtype: torch.dtype, seed: int):
    torch.manual_seed(seed)
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # initialise directly in the target dtype (no fp32 copy of 8B)
    try:
        with torch.device(device):
            model = cls(config)
    finally:
        torch.set_default_dtype(old)
    return model.eval()


def member_spec(name: str) -> dict:
    path = MEMBER_DIR / f"{name}.yaml"
    if not path.is_file():
        raise BenchInputError(f"no member config {str(path)!r} for tiny model {name!r}")
    return yaml.safe_load(path.read_text())


def tiny_member_backend(name: str, device: torch.device, dtype: torch.dtype, seed: int):
    """A random model with a zoo member's architecture and tokenizer."""
    from tie.training.tokenizers import build_tokenizer

    spec = member_spec(name)
    family, arch = spec["family"], dict(spec["arch"])
    tspec = spec.get("tokenizer") or {}
    tok = build_tokenizer(family, tspec.get("merged_tokens") or (), tspec.get("char_order_seed"))
    ids = {
        "vocab_size": len(tok),
        "mask_token_id": tok.mask_token_id,
        "pad_token_id": tok.pad_token_id,
        "eos_token_id": tok.eos_token_id,
        "bos_token_id": tok.bos_token_id,
    }
    if family == "llada":
        cls, cfg = (
            LLaDAModelLM,
            LLaDAConfig(**arch, **ids, max_sequence_length=tok.model_max_length),
        )
    else:
        cls, cfg = (
            DreamModel,
            DreamConfig(**arch, **ids, max_position_embeddings=tok.model_max_length),
        )
    model = _seeded_model(cls, cfg, device, dtype, seed)
    return TransformersBackend(model, tok, family, name)


def real_shape_config(name: str, real_size: str) -> tuple[str, dict]:
    """(family, config kwargs) of a published model, shrunk when `real_size="tiny"`."""
    from tie.models.loading import config_kwargs
    from tie.models.manifest import load_manifest

    if name not in REAL_MODELS:
        raise BenchInputError(f"unknown real-shape model {name!r}; known: {list(REAL_MODELS)}")
    manifest = load_manifest(REAL_MODELS[name])
    family = manifest["family"]
    cfg = config_kwargs(manifest["config"])
    if real_size == "vocab":
        cfg.update(_VOCAB_ARCH[family])
    if real_size == "tiny":
        cfg.update(_TINY_ARCH[family])
        cfg["vocab_size"] = _TINY_VOCAB
        if family == "llada":
            cfg["embedding_size"] = _TINY_VOCAB
        for key, value in _tiny_special_ids(family).items():
            cfg[key] = value
    return family, cfg


def _tiny_special_ids(family: str) -> dict[str, int]:
    """The special ids moved into the tiny vocabulary (the last ids, in a fixed order)."""
    ids = {tok: _TINY_VOCAB - 1 - j for j, tok in enumerate(_REAL_SPECIALS[family])}
    eos = ids["<|endoftext|>"]
    mask = ids["<|mdm_mask|>" if family == "llada" else "<|mask|>"]
    out = {"mask_token_id": mask, "pad_token_id": eos, "eos_token_id": eos}
    if family == "dream":
        out["bos_token_id"] = eos
    return out


def coverage_tokenizer(family: str, vocab_size: int, specials: dict[str, int]):
    """A character tokenizer covering ids [0, vocab_size): printable ASCII + newline, the family's
    specials at their ids, every other id a distinct filler code point (see module docstring)."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    from tie.models.chat import FALLBACK_TEMPLATES

    taken = set(specials.values())
    vocab: dict[str, int] = {tok: i for tok, i in specials.items()}
    chars = ["<unk>", "\n", *[chr(c) for c in range(32, 127)]]
    free = (i for i in range(vocab_size) if i not in taken)
    # the dream-family tokenizer lists characters in reverse so ids differ between families
    for ch in chars if family == "llada" else [chars[0], *reversed(chars[1:])]:
        vocab[ch] = next(free)
    for i in free:
        vocab[chr(_FILLER_BASE + i)] = i
    raw = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    raw.decoder = decoders.Fuse()
    raw.add_special_tokens(list(specials))
    roles = dict(_TOKEN_ROLES[family])
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="<unk>",
        chat_template=FALLBACK_TEMPLATES[family],
        model_max_length=4096,
        **roles,
    )


def real_shape_backend(
    name: str, device: torch.device, dtype: torch.dtype, real_size: str, seed: int
):
    family, cfg = real_shape_config(name, real_size)
    vocab = int(cfg["vocab_size"])
    if real_size == "tiny":
        specials = {tok: _TINY_VOCAB - 1 - j for j, tok in enumerate(_REAL_SPECIALS[family])}
    else:
        specials = dict(_REAL_SPECIALS[family])
    tok = coverage_tokenizer(family, vocab, specials)
    if family == "llada":
        cls, config = LLaDAModelLM, LLaDAConfig.from_dict(cfg)
    else:
        cls, config = DreamModel, DreamConfig.from_dict(cfg)
    model = _seeded_model(cls, config, device, dtype, seed)
    return TransformersBackend(model, tok, family, name)
