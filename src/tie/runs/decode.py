"""`tie-run mode=decode`: one model, one prompt, printed. The quickest check that a model works."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from tie.runs.api import Api
from tie.runs.errors import RunConfigError
from tie.runs.plan import model_spec_from_node


def torch_dtype(name: str | None) -> torch.dtype | None:
    if name is None:
        return None
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise RunConfigError(f"unknown dtype {name!r}; use e.g. float32, bfloat16, float16")
    return dtype


def decode_prompt(cfg: DictConfig, api: Api) -> str:
    """Decode `cfg.prompt` with the `model` group's model under the chat template; return the text."""
    prompt = cfg.get("prompt")
    if not prompt:
        raise RunConfigError('mode=decode needs prompt="..."')
    spec = model_spec_from_node(cfg.get("model"))
    dec: dict[str, Any] = OmegaConf.to_container(cfg.decoding, resolve=True)
    gen_length = int(dec.get("gen_length") or 64)
    if gen_length < 1:
        raise RunConfigError(f"decoding.gen_length must be >= 1, got {gen_length}")
    device = spec.device or ("cuda" if cfg.trainer.accelerator == "gpu" else "cpu")
    backend = api.load_backend(spec.spec, device=device, dtype=torch_dtype(spec.dtype))
    ids = torch.tensor([backend.chat_prompt(str(prompt))], dtype=torch.long, device=backend.device)
    kwargs = {**dec, "gen_length": gen_length, "steps": dec.get("steps") or gen_length}
    accepted = inspect.signature(api.generate).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    out = api.generate(backend, ids, **kwargs)
    return backend.tokenizer.decode(out[0, ids.shape[1] :].tolist(), skip_special_tokens=True)
