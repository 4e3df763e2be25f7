"""Moving canvases between trajectories: the relay (leader -> every other member) and the
leader's canvas as another member reads it (cross-model scoring). Same tokenizer and layout:
ids are copied with the schedule; otherwise the registered text bridge `bridge_gaps` translates.
"""

from __future__ import annotations

from typing import Any

import torch

from tie.ensemble.bridge import BridgeStats, region_spans, same_tokenizer, translate_rows


def copyable(src: Any, dst: Any) -> bool:
    """Ids can be copied from `src` to `dst` (same canvas shape, regions and tokenizer)."""
    return (
        src.state.x.shape == dst.state.x.shape
        and region_spans(src.layout) == region_spans(dst.layout)
        and same_tokenizer(src.backend, dst.backend)
    )


def translated(src: Any, dst: Any, rows: torch.Tensor, gaps: str, x: torch.Tensor | None = None):
    """src's canvases for `rows` (or `x`, canvases of src for those rows) in dst's tokens through
    the text bridge: (x [N, Ld], stats per row)."""
    x = src.state.x[rows.to(src.state.x.device)] if x is None else x
    return translate_rows(
        x.cpu(),
        src.backend,
        src.layout,
        dst.template[rows.to(dst.template.device)].cpu(),
        dst.backend,
        dst.layout,
        gaps,
    )


def as_read_by(src: Any, dst: Any, rows: torch.Tensor, gaps: str):
    """src's canvases for `rows` in dst's tokens: (x, attention_mask) on dst's device."""
    dev = dst.state.x.device
    if src is dst or copyable(src, dst):
        x = src.state.x[rows.to(src.state.x.device)].to(dev)
    else:
        x = translated(src, dst, rows, gaps)[0].to(dev)
    return x, dst.state.attention_mask[rows.to(dev)]


def relay(
    trajs: list[Any], rows: torch.Tensor, leader: torch.Tensor, gaps: str
) -> dict[tuple[int, int], BridgeStats | str]:
    """Replace every non-leader's canvas by the leader's for each row; the replaced trajectories'
    change-count histories restart there. Returns {(row, member): "copy" | BridgeStats}."""
    stats: dict[tuple[int, int], BridgeStats | str] = {}
    for li, src in enumerate(trajs):
        src_rows = rows[leader == li]
        if len(src_rows) == 0:
            continue
        for di, dst in enumerate(trajs):
            if dst is src:
                continue
            dev_rows = src_rows.to(dst.state.x.device)
            if copyable(src, dst):
                dst.state.replace_rows(dev_rows, src.state)
                per_row: list[BridgeStats | None] = [None] * len(src_rows)
            else:
                x, per_row = translated(src, dst, src_rows, gaps)
                dst.state.set_canvas_rows(dev_rows, x.to(dst.state.x.device))
            for b, st in zip(src_rows.tolist(), per_row):
                stats[(b, di)] = st if st is not None else "copy"
            dst.restart_histories(src_rows.cpu())
    return stats
