"""`tie-run mode=decode`: one model, one prompt, printed. The quickest check that a model works.

By default (`decode_canvas=task`) the prompt is decoded on the task's canvas, the reasoning region,
the answer suffix and the answer region that evaluate mode decodes (and that the zoo was trained
on), through the same `single:<model>` method, so decode mode prints the reasoning and the answer
evaluate mode would give for that prompt. `decode_canvas=plain` generates `decoding.gen_length`
tokens straight after the prompt, without a suffix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from tie.decoding.config import DecodeConfig
from tie.ensemble.options import EnsembleOptions
from tie.runs.api import Api, quiet_weight_loading
from tie.runs.errors import RunConfigError
from tie.runs.plan import ModelSpec, _container, model_spec_from_node

if TYPE_CHECKING:
    import torch

from tie.runs.schema import (
    DECODING_CONFIG_ONLY,
    build,
    check_run_config,
    ensemble_option_values,
)

CANVASES = ("task", "plain")
# options that name other constituents or fitted state: meaningless for one model on one prompt
_ENSEMBLE_ONLY = ("calibration", "best_model", "final_selection", "gating")


def torch_dtype(name: str | None) -> torch.dtype | None:
    if name is None:
        return None
    import torch

    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise RunConfigError(f"unknown dtype {name!r}; use e.g. float32, bfloat16, float16")
    return dtype


def check_decode_config(cfg: DictConfig) -> tuple[str, ModelSpec, str]:
    """(prompt, model spec, canvas) of mode=decode, checked before anything heavy is imported."""
    prompt = cfg.get("prompt")
    if not prompt:
        raise RunConfigError('mode=decode needs prompt="..."')
    canvas = str(cfg.get("decode_canvas") or "task")
    if canvas not in CANVASES:
        raise RunConfigError(f"decode_canvas must be one of {list(CANVASES)}, got {canvas!r}")
    if canvas == "task" and cfg.get("task") is None:
        raise RunConfigError("decode_canvas=task needs a task (e.g. task=synth_math)")
    check_run_config(cfg)
    build(DecodeConfig, decode_values(cfg), "decoding")
    if canvas == "task":
        build(EnsembleOptions, single_options(cfg), "ensemble.options")
    return str(prompt), model_spec_from_node(cfg.get("model")), canvas


def decode_values(cfg: DictConfig) -> dict[str, Any]:
    """`decoding` as DecodeConfig takes it (without the config-only keys)."""
    dec: dict[str, Any] = OmegaConf.to_container(cfg.decoding, resolve=True)
    return {k: v for k, v in dec.items() if k not in DECODING_CONFIG_ONLY}


def single_options(cfg: DictConfig) -> dict[str, Any]:
    """The ensemble options of one model on one prompt (the ensemble-only ones dropped)."""
    values = ensemble_option_values(cfg)
    return {k: v for k, v in values.items() if k not in _ENSEMBLE_ONLY}


def unknown_characters(backend: Any, text: str) -> list[str]:
    """Characters of `text` the tokenizer can only read as its unknown token (sorted)."""
    tok = getattr(backend, "tokenizer", None)
    unk = getattr(tok, "unk_token_id", None)
    if tok is None or unk is None:
        return []
    encode = tok.encode
    try:
        if unk not in encode(text, add_special_tokens=False):
            return []
        return sorted(c for c in set(text) if unk in encode(c, add_special_tokens=False))
    except TypeError:  # a tokenizer without add_special_tokens
        return []


def decode_prompt(cfg: DictConfig, api: Api) -> str:
    """Decode `cfg.prompt` with the `model` group's model under the chat template; return the text."""
    prompt, spec, canvas = check_decode_config(cfg)
    dec: dict[str, Any] = OmegaConf.to_container(cfg.decoding, resolve=True)
    gen_length = int(dec.get("gen_length") or 64)
    if gen_length < 1:
        raise RunConfigError(f"decoding.gen_length must be >= 1, got {gen_length}")
    if getattr(api, "check_model", None) is not None:
        from tie.runs.plan import RunPlan, check_models

        check_models(RunPlan([spec], [], {}, {}, ""), api, cfg)
    device = spec.device or ("cuda" if cfg.trainer.accelerator == "gpu" else "cpu")
    quiet_weight_loading()
    backend = api.load_backend(spec.spec, device=device, dtype=torch_dtype(spec.dtype))
    oov = unknown_characters(backend, prompt)
    if oov:
        raise RunConfigError(
            f"prompt has characters outside the vocabulary of {spec.name!r}, which reads them as "
            f"its unknown token: {oov}"
        )
    if canvas == "task":
        return _decode_on_task_canvas(cfg, api, spec, backend, prompt, dec)
    import torch

    ids = torch.tensor([backend.chat_prompt(prompt)], dtype=torch.long, device=backend.device)
    from dataclasses import fields

    from tie.decoding.config import DecodeConfig

    known = {f.name for f in fields(DecodeConfig)}
    options = {k: v for k, v in dec.items() if k in known}
    config = DecodeConfig(**{**options, "steps": dec.get("steps") or gen_length})
    out = api.generate(backend, ids, gen_length=gen_length, config=config)
    return backend.tokenizer.decode(out[0, ids.shape[1] :].tolist(), skip_special_tokens=True)


def _decode_on_task_canvas(
    cfg: DictConfig, api: Api, spec: ModelSpec, backend: Any, prompt: str, dec: dict[str, Any]
) -> str:
    """`single:<model>` on the task's canvas (what evaluate runs); reasoning, suffix, answer."""
    task = api.get_task(
        str(cfg.task.name),
        **_container(cfg.task.get("options")),
    )
    for key in DECODING_CONFIG_ONLY:
        dec.pop(key, None)
    options = api.make_options(single_options(cfg))
    constituent = api.make_constituent(spec.name, backend, api.make_decode_config(dec))
    (out,) = api.run_method(f"single:{spec.name}", [constituent], [prompt], task, options)
    reasoning = (getattr(out, "reasoning", None) or "").strip()
    answer = f"{task.answer_suffix} {out.prediction}".strip()
    return f"{reasoning}\n{answer}" if reasoning else answer
