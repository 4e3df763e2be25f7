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
    config: DecodeConfig | None = None,
) -> torch.LongTensor:
    """Return the canvas `[B, P + gen_length]` (prompt included), every mask decoded.

    `input_ids` `[B, P]` must be left-padded with `attention_mask` 0 on the pads. `config`: how
    to decode (None: the defaults with one block over the whole generation); its answer-signal
    options have no effect here (the plain layout has no answer region).
    """
    config = DecodeConfig(block_length=gen_length) if config is None else config
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
