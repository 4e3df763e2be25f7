"""Dream family (Dream-7B-Instruct, DreamCoder-7B, DiffuCoder-7B) as our own transformers classes.

Architecture (from the authors' modeling code, DreamLM/Dream): Qwen2 layout run without a causal mask:
q/k/v projections with bias, `o_proj` without, RMSNorm, SwiGLU MLP, grouped-query attention, RoPE on
explicit position ids (computed from the attention mask for left padding), rotated in the model dtype
(Qwen2's arithmetic: bfloat16 in bfloat16). Parameter names match the
published checkpoints (`model.embed_tokens`, `model.layers.{i}.self_attn.*`, `model.norm`, `lm_head`).
The raw output at position i-1 predicts token i (the "shift"); the backend realigns it.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput

from tie.models.layers import (
    KVCache,
    LayerKV,
    RMSNorm,
    computed_inputs,
    init_weights,
    key_padding_mask,
    kv_steps,
    rope_cos_sin,
    select_positions,
    self_attention,
)


class DreamConfig(PretrainedConfig):
    """Qwen2-style config fields as in Dream's `config.json` (whose model_type is "Dream")."""

    model_type = "dream"

    vocab_size: int = 152064
    hidden_size: int = 3584
    intermediate_size: int = 18944
    num_hidden_layers: int = 28
    num_attention_heads: int = 28
    num_key_value_heads: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 131072
    initializer_range: float = 0.02
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1000000.0
    attention_dropout: float | int = 0.0
    tie_word_embeddings: bool = False
    mask_token_id: int | None = None
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None

    def __post_init__(self, **kwargs) -> None:
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.hidden_act != "silu":
            raise ValueError(
                f"Dream config: hidden_act={self.hidden_act!r} is not supported (silu)"
            )
        if kwargs.get("rope_scaling") is not None:
            raise ValueError(
                f"Dream config: rope_scaling={kwargs['rope_scaling']!r} is not supported"
            )
        if self.hidden_size % self.num_attention_heads or (
            self.num_attention_heads % self.num_key_value_heads
        ):
            raise ValueError(
                f"Dream config: hidden_size={self.hidden_size} must divide by "
                f"num_attention_heads={self.num_attention_heads} and that by "
                f"num_key_value_heads={self.num_key_value_heads}"
            )
        super().__post_init__(**kwargs)


class DreamAttention(nn.Module):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        d = config.hidden_size
        self.n_heads, self.n_kv_heads = config.num_attention_heads, config.num_key_value_heads
        head_dim = d // self.n_heads
        self.q_proj = nn.Linear(d, self.n_heads * head_dim, bias=True)
        self.k_proj = nn.Linear(d, self.n_kv_heads * head_dim, bias=True)
        self.v_proj = nn.Linear(d, self.n_kv_heads * head_dim, bias=True)
        self.o_proj = nn.Linear(self.n_heads * head_dim, d, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
        kv: LayerKV | None = None,
    ) -> torch.Tensor:
        # Dream rotates in the model dtype (cos/sin cast to it), not in float32 as LLaDA does
        return self.o_proj(self_attention(self, x, cos, sin, mask, kv, full_precision=False))


class DreamMLP(nn.Module):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        d, f = config.hidden_size, config.intermediate_size
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DreamDecoderLayer(nn.Module):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.self_attn = DreamAttention(config)
        self.mlp = DreamMLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
        kv: LayerKV | None = None,
    ) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, kv)
        return x + self.mlp(self.post_attention_layernorm(x))


class DreamBaseModel(nn.Module):
    """The `model` submodule: `embed_tokens`, `layers`, `norm`."""

    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(
            DreamDecoderLayer(config) for _ in range(config.num_hidden_layers)
        )
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None,
        position_ids: torch.LongTensor,
        cache: KVCache | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden states; `cache` / `positions` as in `DreamModel.forward` (`position_ids` are
        the whole canvas's; with `positions` only those canvas positions are computed)."""
        c = self.config
        kvs = kv_steps(cache, positions, len(self.layers))
        input_ids, position_ids = computed_inputs(input_ids, position_ids, positions)
        cos, sin = rope_cos_sin(position_ids, c.hidden_size // c.num_attention_heads, c.rope_theta)
        mask = key_padding_mask(attention_mask)
        x = self.embed_tokens(input_ids)
        for layer, kv in zip(self.layers, kvs, strict=True):
            x = layer(x, cos, sin, mask, kv)
        return self.norm(x)


def positions_from_mask(attention_mask: torch.Tensor) -> torch.LongTensor:
    """Left-padding position ids: the first real token gets 0 (cumsum - 1, pads clamped to 0)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


class DreamModel(PreTrainedModel):
    """`DreamModel` with the checkpoint layout `model.*` + `lm_head`; raw (shifted) logits."""

    config_class = DreamConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    _no_split_modules = ["DreamDecoderLayer"]  # noqa: RUF012 - transformers API

    def __init__(self, config: DreamConfig) -> None:
        super().__init__(config)
        self.model = DreamBaseModel(config)
        # Tied configs reuse the embedding matrix in forward instead of a second parameter.
        self.lm_head = (
            None
            if config.tie_word_embeddings
            else nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        )
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.initializer_range)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embed_tokens

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        keep: slice | torch.Tensor | None = None,
        cache: KVCache | None = None,
        positions: torch.Tensor | None = None,
        **kwargs,
    ) -> MaskedLMOutput:
        """Raw logits [B, L, V] (output i-1 predicts token i); only the raw positions in `keep`
        when given (the head runs only there).

        Without `position_ids` they come from `attention_mask` (left padding) or are 0..L-1.
        `cache` without `positions`: a full forward that also records every layer's keys and
        values. With `positions` [B, W]: only those raw positions of `input_ids` (the whole
        canvas) are computed, attending over the cached keys/values elsewhere; `keep` then
        indexes the W computed positions ([B, P] indices, or a slice).
        """
        if position_ids is None:
            if attention_mask is not None:
                position_ids = positions_from_mask(attention_mask)
            else:
                position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        h = select_positions(
            self.model(input_ids, attention_mask, position_ids, cache, positions), keep
        )
        if self.lm_head is None:
            return MaskedLMOutput(logits=nn.functional.linear(h, self.model.embed_tokens.weight))
        return MaskedLMOutput(logits=self.lm_head(h))
