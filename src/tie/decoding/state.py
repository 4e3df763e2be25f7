"""`DecodeState`: a batch of canvases plus each row's schedule, so decoding can pause and relay.

Per-row schedule: `cur_block` (-1 until the decoder first sets it), `blk_n` (masks in the block
when its schedule was set), `blk_spb` (steps for it), `blk_step` (steps taken on it), `carry`
(quota a step could not use). The decoder (re)sets a row's schedule when its first masked block
changes, so after `replace_rows` a row simply continues with the source's schedule, and after
`set_canvas_rows` the current block's quota is recomputed from the masks present over the steps
that block has left (at least 1).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import torch

from tie.decoding.config import DecodeInputError

if TYPE_CHECKING:  # the layout type only: canvas.py builds states, state.py imports no canvas
    from tie.decoding.canvas import CanvasLayout

SCHEDULE = ("cur_block", "blk_n", "blk_spb", "blk_step", "carry", "resched")


@dataclass
class DecodeState:
    x: torch.Tensor  # [B, L] token canvas
    attention_mask: torch.Tensor  # [B, L]
    layout: CanvasLayout
    mask_id: int
    steps_taken: torch.Tensor  # [B] decode steps this state ran per row
    nfe: torch.Tensor  # [B] forward passes spent per row
    cur_block: torch.Tensor
    blk_n: torch.Tensor
    blk_spb: torch.Tensor
    blk_step: torch.Tensor
    carry: torch.Tensor
    resched: torch.Tensor  # [B] bool: recompute the current block's quota at the next step
    generator: torch.Generator | None = None  # sampling noise (created from the seed on first use)
    cache: Any = None  # decoding.cache != none: the rows' KV cache (tie.decoding.cache.StepCache)

    @classmethod
    def fresh(
        cls, x: torch.Tensor, attention_mask: torch.Tensor, layout: CanvasLayout, mask_id: int
    ) -> DecodeState:
        b, dev = x.shape[0], x.device
        if x.shape != attention_mask.shape or x.shape[1] != layout.total_len:
            raise DecodeInputError(
                f"canvas {tuple(x.shape)} / mask {tuple(attention_mask.shape)} do not match the "
                f"layout length {layout.total_len}"
            )

        def z() -> torch.Tensor:
            return torch.zeros(b, dtype=torch.long, device=dev)

        return cls(
            x, attention_mask, layout, mask_id, z(), z(), z() - 1, z(), z(), z(), z(),
            torch.zeros(b, dtype=torch.bool, device=dev),
        )  # fmt: skip

    @property
    def batch_size(self) -> int:
        return int(self.x.shape[0])

    def masked(self) -> torch.Tensor:
        """[B, G] bool: masked positions of the generation region."""
        return self.x[:, self.layout.gen_start :] == self.mask_id

    def done(self) -> torch.Tensor:
        """[B] bool: rows with no mask left."""
        return ~self.masked().any(dim=1)

    def clone(self) -> DecodeState:
        out = DecodeState(
            **{
                f.name: getattr(self, f.name).clone()
                if isinstance(getattr(self, f.name), torch.Tensor)
                else getattr(self, f.name)
                for f in fields(self)
                if f.name not in ("generator", "cache")  # a clone rebuilds its own cache
            }
        )
        if self.generator is not None:
            out.generator = torch.Generator(device=self.generator.device)
            out.generator.set_state(self.generator.get_state())
        return out

    def _rows(self, rows) -> torch.Tensor:
        r = torch.as_tensor(rows, device=self.x.device)
        if r.dtype == torch.bool:
            if r.shape != (self.batch_size,):
                raise DecodeInputError(f"row mask must have shape [{self.batch_size}]")
            r = r.nonzero().squeeze(1)
        r = r.long().reshape(-1)
        if len(r) and (r.min() < 0 or r.max() >= self.batch_size):
            raise DecodeInputError(f"row index out of range for batch of {self.batch_size}")
        return r

    def replace_rows(self, rows, other: DecodeState) -> None:
        """Copy canvas, attention mask and schedule of `other`'s rows `rows` into the same rows.

        Cost counters (`steps_taken`, `nfe`) stay this state's own.
        """
        if other.layout != self.layout or other.x.shape != self.x.shape:
            raise DecodeInputError(
                "replace_rows needs states with the same layout and shape "
                f"({self.layout} {tuple(self.x.shape)} vs {other.layout} {tuple(other.x.shape)})"
            )
        r = self._rows(rows)
        self.invalidate_cache(r)
        self.x[r] = other.x[r]
        self.attention_mask[r] = other.attention_mask[r]
        for name in SCHEDULE:
            getattr(self, name)[r] = getattr(other, name)[r]

    def set_canvas_rows(
        self, rows, x_rows: torch.Tensor, attention_mask_rows: torch.Tensor | None = None
    ) -> None:
        """Write new canvases (e.g. after a cross-tokenizer relay); their quota is recomputed."""
        r = self._rows(rows)
        x_rows = torch.as_tensor(x_rows, device=self.x.device)
        if x_rows.shape != (len(r), self.x.shape[1]):
            raise DecodeInputError(
                f"x_rows must have shape [{len(r)}, {self.x.shape[1]}], got {tuple(x_rows.shape)}"
            )
        self.invalidate_cache(r)
        self.x[r] = x_rows.long()
        if attention_mask_rows is not None:
            self.attention_mask[r] = torch.as_tensor(attention_mask_rows).to(self.attention_mask)
        self.resched[r] = True

    def invalidate_cache(self, rows=None) -> None:
        """Rows `rows` (None: all, and the cache's memory is freed) recompute their KV cache at
        their next step. Writes into a row's cached region are detected without this; call it
        after any other external change (`replace_rows` and `set_canvas_rows` do)."""
        if self.cache is None:
            return
        if rows is None:
            self.cache = None
        else:
            self.cache.invalidate(self._rows(rows))
