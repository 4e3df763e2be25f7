"""`generate`: decode a left-padded batch in the plain layout `prompt | generation` to the end."""

from __future__ import annotations

import torch

from tie.decoding.canvas import CanvasLayout, assemble, check_lengths, require_mask_id
from tie.decoding.config import DecodeConfig, DecodeInputError
from tie.decoding.decoder import Decoder
from tie.decoding.state import DecodeState


def generate(
    backend,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    gen_length: int,
    block_length: int | None = None,
    steps: int | None = None,
    policy: str = "low_confidence",
    temperature: float = 0.0,
    threshold: float = 0.9,
    k: int = 2,
    suppress_eos_confidence: bool = False,
    eos_answer_cap: int | None = None,
    exclude_eos_from_answer: bool = True,
    seed: int | None = 0,
    rounding: str = "strict",
    dream_eps: float = 1e-3,
    dream_confidence: str = "entropy",
    forbid_mask_token: bool = False,
    top_p: float | None = None,
    top_k: int | None = None,
    alg_temp: float | None = None,
    cache: str = "none",
) -> torch.LongTensor:
    """Return the canvas `[B, P + gen_length]` (prompt included), every mask decoded.

    `input_ids` `[B, P]` must be left-padded with `attention_mask` 0 on the pads. `block_length`
    None means one block over the whole generation; `steps` None means one token per step.
    The keyword options are those of `DecodeConfig` (the answer-signal ones have no effect here:
    the plain layout has no answer region).
    """
    config = DecodeConfig(
        block_length=gen_length if block_length is None else block_length,
        steps=steps,
        policy=policy,
        temperature=temperature,
        threshold=threshold,
        k=k,
        suppress_eos_confidence=suppress_eos_confidence,
        eos_answer_cap=eos_answer_cap,
        exclude_eos_from_answer=exclude_eos_from_answer,
        seed=seed,
        rounding=rounding,
        dream_eps=dream_eps,
        dream_confidence=dream_confidence,
        forbid_mask_token=forbid_mask_token,
        top_p=top_p,
        top_k=top_k,
        alg_temp=alg_temp,
        cache=cache,
    )
    mask_id = require_mask_id(backend)
    input_ids = torch.as_tensor(input_ids)
    if input_ids.dim() != 2 or input_ids.shape[1] < 1:
        raise DecodeInputError(
            f"input_ids must be [B, P] with P >= 1, got {tuple(input_ids.shape)}"
        )
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    elif attention_mask.shape != input_ids.shape:
        raise DecodeInputError(
            f"attention_mask {tuple(attention_mask.shape)} != input_ids {tuple(input_ids.shape)}"
        )
    if bool((input_ids == mask_id).any()):
        raise DecodeInputError(f"input_ids contain the mask id {mask_id}")
    layout = CanvasLayout.plain(int(input_ids.shape[1]), int(gen_length))
    check_lengths(backend, layout, attention_mask.sum(1).tolist())
    decoder = Decoder(backend, config)
    x, am = assemble(
        input_ids.to(backend.device), attention_mask.to(backend.device), layout, mask_id
    )
    state = DecodeState.fresh(x, am, layout, mask_id)
    decoder.run(state)
    return state.x
