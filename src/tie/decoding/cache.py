"""Fast-dLLM's approximate KV caches as a decoding option (`DecodeConfig.cache`).

`none` (default): every step runs a full forward over prompt and canvas (exact decoding).
`prefix`: at the first step of a row's block a full forward records every layer's keys/values;
later steps of that block recompute only the block and everything after it, and read the
keys/values before the block from the cache. `dual`: later steps recompute only the block and
read both the prefix and the suffix from the cache. The cached keys/values are those of the
canvas when they were recorded, so after a commit they are stale (the approximation Fast-dLLM
measures); every position whose tokens change is recomputed.

Per row: the cache of a row is refreshed (a full forward for that row, which is also that step's
forward, so the NFE count is unchanged) when the row's block changed, when the rows' cached
region (outside what is recomputed) or its attention mask differs from the canvas the cache was
recorded on (any external write, e.g. a relay that wrote `state.x` directly), or after
`DecodeState.invalidate_cache` (which `replace_rows` and `set_canvas_rows` call). Rows decode at
their own blocks: rows that refresh and rows that reuse are two forwards in one step, so a row's
logits never depend on which other rows share its batch.
"""

from __future__ import annotations

import torch

from tie.decoding.config import DecodeInputError
from tie.models.backend import takes_argument
from tie.models.layers import KVCache

CACHE_MODES = ("none", "prefix", "dual")


def require_kv_cache(backend, mode: str) -> None:
    """Refuse, before any forward, a backend that cannot keep a KV cache."""
    ok = getattr(backend, "supports_kv_cache", False) and takes_argument(
        getattr(backend, "cached_logits", None), "cache"
    )
    if not ok:
        name = getattr(getattr(backend, "info", None), "name", type(backend).__name__)
        raise DecodeInputError(
            f"decoding.cache={mode} needs a backend with a KV cache (our LLaDA / Dream classes, "
            f"backend native); {name} has none: use decoding.cache=none"
        )


class StepCache:
    """The KV cache of one `DecodeState` under one backend (`state.cache`)."""

    def __init__(self, backend, mode: str, batch_size: int) -> None:
        if mode not in CACHE_MODES[1:]:
            raise DecodeInputError(f"cache mode must be one of {CACHE_MODES[1:]}, got {mode!r}")
        self.backend, self.mode, self.batch_size = backend, mode, batch_size
        self.kv = KVCache()
        self.block = torch.full((batch_size,), -1, dtype=torch.long, device=backend.device)
        self.x_ref: torch.Tensor | None = None  # canvases the cache was recorded on
        self.am_ref: torch.Tensor | None = None
        self.refreshed_rows = 0  # row-forwards that (re)built the cache
        self.reused_rows = 0  # row-forwards that read it

    def matches(self, backend, mode: str, batch_size: int) -> bool:
        return self.backend is backend and self.mode == mode and self.batch_size == batch_size

    def invalidate(self, rows: torch.Tensor | None = None) -> None:
        """Rows `rows` (None: all) recompute everything at their next step."""
        with torch.inference_mode():  # the cache's tensors are made under the decoder's
            if rows is None:
                self.block.fill_(-1)
            else:
                self.block[rows.to(self.block.device)] = -1

    def fresh(self, pos: torch.Tensor, length: int) -> torch.Tensor:
        """[n, L] bool: positions recomputed at a reusing step, given each row's window `pos`."""
        at = torch.arange(length, device=pos.device)[None]
        if self.mode == "prefix":
            return at >= pos[:, :1]
        out = torch.zeros(pos.shape[0], length, dtype=torch.bool, device=pos.device)
        return out.scatter_(1, pos, True)

    def logits(
        self,
        x: torch.Tensor,
        attention_mask: torch.Tensor,
        rows: torch.Tensor | None,
        cur: torch.Tensor,
        pos: torch.Tensor,
        span: tuple[int, int],
        answer: tuple[int, int] | None,
    ) -> torch.Tensor:
        """Float32 logits [n, hi - lo, V] of the stepped rows `x` (rows `rows` of the state; None:
        all), read at each row's window `pos` (block index `cur`) and at `answer` when given;
        other positions of the span are zero on reusing rows."""
        with torch.inference_mode():
            return self._logits(x, attention_mask, rows, cur, pos, span, answer)

    def _logits(self, x, attention_mask, rows, cur, pos, span, answer) -> torch.Tensor:
        n, length = x.shape
        r = torch.arange(n, device=x.device) if rows is None else rows
        fresh = self.fresh(pos, length)
        if self.x_ref is None:
            reuse = torch.zeros(n, dtype=torch.bool, device=x.device)
        else:
            stale = ((x != self.x_ref[r]) & ~fresh).any(1)
            stale |= (attention_mask != self.am_ref[r]).any(1)
            reuse = (self.block[r] == cur) & ~stale
        n_reuse = int(reuse.sum())
        lo, hi = span
        if n_reuse == 0:
            return self._refresh(x, attention_mask, r, cur, span, None)
        reu = reuse.nonzero().squeeze(1)
        want = pos[reu]
        if answer is not None and answer[1] > answer[0]:
            a = torch.arange(*answer, device=x.device).expand(n_reuse, -1)
            want = torch.cat([want, a], dim=1)
        kv = self.kv.rows(slice(None) if n_reuse == self.batch_size else r[reu])
        got = self.backend.cached_logits(x[reu], attention_mask[reu], want, kv, fresh[reu])
        self.reused_rows += n_reuse
        exact = n_reuse == n and want.shape[1] == hi - lo  # the arange only when it may match
        if exact and bool((want == torch.arange(lo, hi, device=x.device)).all()):
            return got  # every row read exactly the span, in order (one block, no answer)
        out = got.new_zeros(n, hi - lo, got.shape[-1])
        out[reu[:, None], want - lo] = got
        if n_reuse < n:
            ref = (~reuse).nonzero().squeeze(1)
            out[ref] = self._refresh(x, attention_mask, r, cur, span, ref)
        return out

    def _refresh(self, x, attention_mask, r, cur, span, sub: torch.Tensor | None) -> torch.Tensor:
        """Full forward of rows `sub` of `x` (None: all), recording their keys/values."""
        xs = x if sub is None else x[sub]
        am = attention_mask if sub is None else attention_mask[sub]
        rs, cs = (r, cur) if sub is None else (r[sub], cur[sub])
        kv = KVCache()
        out = self.backend.logits(xs, am, span=span, cache=kv)
        self.kv.write_rows(rs, kv, self.batch_size)
        if self.x_ref is None:
            self.x_ref = torch.zeros(self.batch_size, x.shape[1], dtype=x.dtype, device=x.device)
            self.am_ref = torch.zeros(
                self.batch_size, x.shape[1], dtype=attention_mask.dtype, device=x.device
            )
        self.x_ref[rs] = xs
        self.am_ref[rs] = am
        self.block[rs] = cs
        self.refreshed_rows += len(rs)
        return out


def step_cache(state, backend, mode: str) -> StepCache:
    """`state.cache` for this backend and mode, made (empty) when missing or for another one."""
    cache = getattr(state, "cache", None)
    if cache is None or not cache.matches(backend, mode, state.batch_size):
        cache = state.cache = StepCache(backend, mode, state.batch_size)
    return cache
