"""Building blocks shared by our LLaDA and Dream model classes.

Both families are Llama-style transformers run bidirectionally: RMSNorm, rotary embeddings with the
"rotate half" convention, SwiGLU MLP and full (non-causal) attention over the real tokens. Keeping the
pieces here means the two model files only differ in parameter names and the handful of real
architectural differences (biases, shift, position ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """RMS normalisation computed in float32 (as both authors do), scaled by a learned weight."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(dtype)


def rope_cos_sin(
    positions: torch.Tensor, head_dim: int, theta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables [B, 1, L, head_dim] (float32) for integer positions [B, L] or [L]."""
    if positions.dim() == 1:
        positions = positions.unsqueeze(0)
    inv_freq = 1.0 / (
        theta
        ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim)
    )
    freqs = positions.to(torch.float32).unsqueeze(-1) * inv_freq  # [B, L, head_dim/2]
    emb = torch.cat((freqs, freqs), dim=-1).unsqueeze(1)
    return emb.cos(), emb.sin()


def apply_rope(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, full_precision: bool = True
) -> torch.Tensor:
    """Rotate x [B, H, L, D] ("rotate half": pairs are (i, i + D/2)).

    `full_precision`: in float32, cast back (LLaDA's `rope_full_precision`); False: in x's dtype
    with cos/sin cast to it, as Dream's (Qwen2's) code does in bfloat16."""
    if not full_precision and x.dtype != torch.float32:
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos.to(x.dtype) + rotated * sin.to(x.dtype)
    x32 = x.float()
    half = x32.shape[-1] // 2
    rotated = torch.cat((-x32[..., half:], x32[..., :half]), dim=-1)
    return (x32 * cos + rotated * sin).to(x.dtype)


def key_padding_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """Boolean SDPA mask [B, 1, 1, L] letting every query see the real keys only.

    Masking keys only (never query rows) keeps every softmax row non-empty, so pad query rows give
    finite (ignored) values instead of NaN. A row with no real token at all attends to everything.
    Returns None when nothing is masked, which lets SDPA pick its fastest kernel.
    """
    if attention_mask is None:
        return None
    keep = attention_mask.to(torch.bool)
    if bool(keep.all()):
        return None
    keep = keep | ~keep.any(dim=-1, keepdim=True)
    return keep[:, None, None, :]


def native_gqa(q: torch.Tensor, mask: torch.Tensor | None) -> bool:
    """Whether SDPA's own grouped-query broadcast (`enable_gqa=True`) reaches a fused kernel.

    CPU: always (same values as repeating K/V, without the copies). CUDA: only the flash kernel
    takes grouped heads (fp16/bf16, no mask); otherwise SDPA would silently fall back to the
    unfused math kernel, slower than repeating K/V into the memory-efficient one.
    """
    if q.device.type == "cpu":
        return True
    return mask is None and q.dtype in (torch.float16, torch.bfloat16)


def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """Bidirectional SDPA over [B, H, L, D] with grouped-query heads; returns [B, L, H*D]."""
    grouped = q.shape[1] != k.shape[1]
    if grouped and not native_gqa(q, mask):
        repeat = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(repeat, dim=1)
        v = v.repeat_interleave(repeat, dim=1)
        grouped = False
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=False, enable_gqa=grouped
    )
    b, h, length, d = out.shape
    return out.transpose(1, 2).reshape(b, length, h * d)


def select_positions(x: torch.Tensor, keep: slice | torch.Tensor | None) -> torch.Tensor:
    """Hidden states [B, L, d] at `keep`: all (None), a slice, or per-row indices [B, P]."""
    if keep is None:
        return x
    if isinstance(keep, slice):
        return x[:, keep]
    return x.gather(1, keep[..., None].expand(-1, -1, x.shape[-1]))


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """[B, L, H*D] -> [B, H, L, D]."""
    b, length, _ = x.shape
    return x.view(b, length, n_heads, -1).transpose(1, 2)


def init_weights(module: nn.Module, std: float) -> None:
    """Initialisation shared by both families (normal linears/embeddings, zero biases, unit norms)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=std)
    elif isinstance(module, RMSNorm):
        nn.init.ones_(module.weight)


@dataclass
class KVCache:
    """Keys (after RoPE) and values [B, Hkv, L, D] of every layer over whole canvases.

    Filled by a full forward (`KVStep` without positions); a later forward reuses them for every
    position it does not recompute (Fast-dLLM's approximate caches: the cached keys/values are
    those of the canvas at the time they were recorded).
    """

    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, idx: torch.Tensor | slice) -> KVCache:
        """The cache of rows `idx` (a copy unless `idx` takes every row)."""
        if isinstance(idx, slice) and idx == slice(None):
            return self
        return KVCache([k[idx] for k in self.keys], [v[idx] for v in self.values])

    def write_rows(self, idx: torch.Tensor, other: KVCache, batch_size: int) -> None:
        """Store `other` (rows `idx` of a batch of `batch_size`) into this cache, allocating it on
        first use."""
        if not self.keys:
            for k, v in zip(other.keys, other.values, strict=True):
                self.keys.append(k.new_zeros((batch_size, *k.shape[1:])))
                self.values.append(v.new_zeros((batch_size, *v.shape[1:])))
        for mine, theirs in ((self.keys, other.keys), (self.values, other.values)):
            for layer, t in enumerate(theirs):
                if mine[layer].shape[1:] != t.shape[1:]:
                    raise ValueError(
                        f"KV cache layer {layer} holds {tuple(mine[layer].shape[1:])}, "
                        f"got {tuple(t.shape[1:])} (canvas length changed?)"
                    )
                mine[layer][idx] = t


class KVStep:
    """How one forward uses a `KVCache`.

    `positions=None`: record every layer's keys/values (a full forward). `positions` [B, W]: the
    forward computes only those canvas positions (duplicates allowed, e.g. padding a short row);
    each layer's keys/values are the cached ones with those positions replaced by fresh ones, so
    queries at W positions attend over the whole canvas.
    """

    def __init__(self, cache: KVCache, positions: torch.Tensor | None = None) -> None:
        if positions is not None and len(cache) == 0:
            raise ValueError("a cached forward needs a filled KV cache (run a full forward first)")
        self.cache, self.positions = cache, positions

    def __call__(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.positions is None:
            if layer == len(self.cache.keys):
                self.cache.keys.append(k)
                self.cache.values.append(v)
            else:
                self.cache.keys[layer], self.cache.values[layer] = k, v
            return k, v
        idx = self.positions[:, None, :, None].expand(-1, k.shape[1], -1, k.shape[-1])
        keys, values = self.cache.keys[layer], self.cache.values[layer]
        return keys.scatter(2, idx, k.to(keys.dtype)), values.scatter(2, idx, v.to(values.dtype))


LayerKV = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""One layer's use of the cache in one forward: its fresh keys/values in, those to attend over out."""


def kv_steps(
    cache: KVCache | None, positions: torch.Tensor | None, n_layers: int
) -> list[LayerKV | None]:
    """Each layer's `LayerKV` for one forward over `cache` (`KVStep`); None per layer without one."""
    if cache is None:
        return [None] * n_layers
    step = KVStep(cache, positions)
    return [partial(step, layer) for layer in range(n_layers)]


def computed_inputs(
    input_ids: torch.Tensor, position_ids: torch.Tensor, positions: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and RoPE position ids of what a forward computes: the whole canvas, or (cached
    forward) only its `positions` [B, W], keeping their absolute positions."""
    if positions is None:
        return input_ids, position_ids
    position_ids = position_ids.expand(input_ids.shape[0], -1).gather(1, positions)
    return input_ids.gather(1, positions), position_ids


def self_attention(
    attn: nn.Module,
    h: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    mask: torch.Tensor | None,
    kv: LayerKV | None,
    full_precision: bool = True,
) -> torch.Tensor:
    """Rotary grouped-query attention [B, L, H*D] (before the output projection) of a module with
    `q_proj`, `k_proj`, `v_proj`, `n_heads`, `n_kv_heads`; `kv` swaps in the cached keys/values."""
    q = apply_rope(split_heads(attn.q_proj(h), attn.n_heads), cos, sin, full_precision)
    k = apply_rope(split_heads(attn.k_proj(h), attn.n_kv_heads), cos, sin, full_precision)
    v = split_heads(attn.v_proj(h), attn.n_kv_heads)
    if kv is not None:
        k, v = kv(k, v)
    return attend(q, k, v, mask)
