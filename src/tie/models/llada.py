"""LLaDA family (LLaDA-8B-Instruct, LLaDA-1.5) as our own transformers classes.

Architecture (from the authors' modeling code, ML-GSAI/LLaDA): Llama-style blocks run without a causal
mask, RMSNorm, SwiGLU MLP (`ff_proj` is the gate, `up_proj` the up projection, `ff_out` the down
projection), RoPE on the absolute index 0..L-1 (no position ids), an additive key mask from a 2D
attention mask, untied output head `model.transformer.ff_out`. Parameter names match the published
checkpoints so they load unchanged. Logits at position i predict token i (no shift).
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


class LLaDAConfig(PretrainedConfig):
    """Config with the authors' field names, so a published `config.json` loads as is."""

    model_type = "llada"
    attribute_map = {  # noqa: RUF012 - transformers API
        "hidden_size": "d_model",
        "num_hidden_layers": "n_layers",
        "num_attention_heads": "n_heads",
    }

    d_model: int = 4096
    n_heads: int = 32
    n_kv_heads: int | None = None
    n_layers: int = 32
    mlp_hidden_size: int | None = None
    mlp_ratio: int = 4
    vocab_size: int = 126464
    embedding_size: int | None = None
    max_sequence_length: int = 4096
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    weight_tying: bool = False
    include_bias: bool = False
    include_qkv_bias: bool = False
    init_std: float = 0.02
    mask_token_id: int | None = None
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs) -> None:
        if self.n_kv_heads is None:
            self.n_kv_heads = self.n_heads
        if self.mlp_hidden_size is None:
            self.mlp_hidden_size = self.mlp_ratio * self.d_model
        if self.embedding_size is None:
            self.embedding_size = self.vocab_size
        _check_supported(kwargs)
        # Output tying is handled by `weight_tying` (no ff_out module), never by transformers.
        self.tie_word_embeddings = False
        super().__post_init__(**kwargs)
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"LLaDA config: d_model={self.d_model} must divide by n_heads={self.n_heads} "
                f"and n_heads by n_kv_heads={self.n_kv_heads}"
            )


# Fields of the authors' config that select variants we do not implement: value we support.
_SUPPORTED = {
    "block_type": "llama",
    "activation_type": "silu",
    "layer_norm_type": "rms",
    "alibi": False,
    "rope": True,
    "attention_layer_norm": False,
    "input_emb_norm": False,
    "scale_logits": False,
    "bias_for_layer_norm": (False, None),
    "layer_norm_with_affine": True,
    "block_group_size": 1,
    "multi_query_attention": (False, None),
}


def _check_supported(extra: dict) -> None:
    for key, ok in _SUPPORTED.items():
        if key in extra:
            allowed = ok if isinstance(ok, tuple) else (ok,)
            if extra[key] not in allowed:
                raise ValueError(
                    f"LLaDA config: {key}={extra[key]!r} is not supported (need {allowed[0]!r})"
                )


class LLaDABlock(nn.Module):
    """One bidirectional Llama block with the authors' flat parameter names."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__()
        d, head_dim = config.d_model, config.d_model // config.n_heads
        qkv_bias = config.include_bias or config.include_qkv_bias
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, head_dim
        self.attn_norm = RMSNorm(d, config.rms_norm_eps)
        self.ff_norm = RMSNorm(d, config.rms_norm_eps)
        self.q_proj = nn.Linear(d, d, bias=qkv_bias)
        self.k_proj = nn.Linear(d, config.n_kv_heads * head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(d, config.n_kv_heads * head_dim, bias=qkv_bias)
        self.attn_out = nn.Linear(d, d, bias=config.include_bias)
        self.ff_proj = nn.Linear(d, config.mlp_hidden_size, bias=config.include_bias)
        self.up_proj = nn.Linear(d, config.mlp_hidden_size, bias=config.include_bias)
        self.ff_out = nn.Linear(config.mlp_hidden_size, d, bias=config.include_bias)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
        kv: LayerKV | None = None,
    ) -> torch.Tensor:
        x = x + self.attn_out(self_attention(self, self.attn_norm(x), cos, sin, mask, kv))
        h = self.ff_norm(x)
        return x + self.ff_out(nn.functional.silu(self.ff_proj(h)) * self.up_proj(h))


class LLaDAModel(nn.Module):
    """The `model` submodule: `transformer.{wte, blocks, ln_f, ff_out}` as in the checkpoints."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__()
        self.config = config
        modules = {
            "wte": nn.Embedding(config.embedding_size, config.d_model),
            "blocks": nn.ModuleList(LLaDABlock(config) for _ in range(config.n_layers)),
            "ln_f": RMSNorm(config.d_model, config.rms_norm_eps),
        }
        if not config.weight_tying:
            modules["ff_out"] = nn.Linear(
                config.d_model, config.embedding_size, bias=config.include_bias
            )
        self.transformer = nn.ModuleDict(modules)

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        keep: slice | torch.Tensor | None = None,
        cache: KVCache | None = None,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits of the positions in `keep` (default all): the head runs only there.

        `cache` without `positions`: a full forward that also records every layer's keys and
        values. With `positions` [B, W]: only those canvas positions of `input_ids` (the whole
        canvas) are computed, attending over the cached keys/values elsewhere; `keep` then
        indexes the W computed positions ([B, P] indices, or a slice)."""
        t = self.transformer
        kvs = kv_steps(cache, positions, len(t.blocks))
        # RoPE on the absolute canvas index, also for the positions a cached forward computes
        canvas_at = torch.arange(input_ids.shape[1], device=input_ids.device)
        ids, rope_at = computed_inputs(input_ids, canvas_at, positions)
        cos, sin = rope_cos_sin(
            rope_at, self.config.d_model // self.config.n_heads, self.config.rope_theta
        )
        mask = key_padding_mask(attention_mask)
        x = t.wte(ids)
        for block, kv in zip(t.blocks, kvs, strict=True):
            x = block(x, cos, sin, mask, kv)
        x = t.ln_f(select_positions(x, keep))
        if self.config.weight_tying:
            return nn.functional.linear(x, t.wte.weight)
        return t.ff_out(x)


class LLaDAModelLM(PreTrainedModel):
    """`LLaDAModelLM` with the checkpoint layout `model.transformer.*`; no logit shift."""

    config_class = LLaDAConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    _no_split_modules = ["LLaDABlock"]  # noqa: RUF012 - transformers API

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__(config)
        self.model = LLaDAModel(config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        init_weights(module, self.config.init_std)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.transformer.wte

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        keep: slice | torch.Tensor | None = None,
        cache: KVCache | None = None,
        positions: torch.Tensor | None = None,
        **kwargs,
    ) -> MaskedLMOutput:
        """Logits [B, L, V] (only the positions in `keep` when given); RoPE uses absolute
        positions 0..L-1, padded keys are masked. `cache` / `positions`: `LLaDAModel.forward`."""
        if kwargs.get("position_ids") is not None:
            raise ValueError("LLaDA takes no position_ids: RoPE runs on the absolute index")
        return MaskedLMOutput(logits=self.model(input_ids, attention_mask, keep, cache, positions))
