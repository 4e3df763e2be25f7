"""Moving a partially denoised canvas between two constituents (TIE_SPEC section 4).

Identical tokenizers copy ids. Otherwise each region crosses through text: the contiguous
committed prefix is decoded, re-encoded by the target without special tokens and placed at the
start of the target's region; the rest stays masked. A committed EOS run in that prefix (or a
fully committed region) closes the region: the target fills the rest with its own EOS. Every
translation reports what it lost.

`gaps="offsets"` (TIE_SPEC's optional rule) keeps what comes after a gap instead: every committed
run is translated on its own and placed after as many target masks as the gap had source masks
(exact when both vocabularies spell one character per token around the gap; otherwise the runs
keep their order and the gaps their token width).

`gaps="chars"` keeps the runs too but sizes each gap in target tokens: the gap's source masks
times the ratio of target to source tokens on the region's committed text (the two vocabularies'
characters per token measured where both spell the same text, instead of assuming one to one);
text is decoded without tokenization-space clean-up, which is exact for byte-level BPE.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import torch

from tie.ensemble.registry import BRIDGES, register_bridge


@dataclass
class BridgeStats:
    """Losses of one translation (summed over the regions)."""

    tokens_dropped: int = 0  # committed source tokens after the first gap (or after an EOS)
    tokens_truncated: int = 0  # target tokens cut because the region was too short
    roundtrip_mismatch: bool = False  # target text differs from the source text

    def __iadd__(self, other: BridgeStats) -> BridgeStats:
        self.tokens_dropped += other.tokens_dropped
        self.tokens_truncated += other.tokens_truncated
        self.roundtrip_mismatch |= other.roundtrip_mismatch
        return self


_SAME_CACHE: dict[tuple[int, int], bool] = {}


def same_tokenizer(a, b) -> bool:
    """True when two backends share vocabulary and special ids, so ids can be copied."""
    if a is b:
        return True
    key = (id(a), id(b))
    if key not in _SAME_CACHE:
        _SAME_CACHE[key] = (
            a.mask_id == b.mask_id
            and tuple(a.eos_ids) == tuple(b.eos_ids)
            and a.pad_id == b.pad_id
            and a.tokenizer.get_vocab() == b.tokenizer.get_vocab()
        )
    return _SAME_CACHE[key]


def fill_eos_id(backend) -> int:
    """The EOS a closed region is filled with: the pad id when it is an EOS, else the first EOS."""
    return backend.pad_id if backend.pad_id in backend.eos_ids else backend.eos_ids[0]


def region_spans(layout) -> dict[str, tuple[int, int]]:
    """(start, length) of the reasoning and answer regions of a CanvasLayout."""
    p, r, a = int(layout.prompt_len), int(layout.reasoning_len), int(layout.answer_len)
    s = len(layout.suffix_ids)
    return {"reasoning": (p, r), "answer": (p + r + s, a)}


def committed_text(ids: list[int], tokenizer, mask_id: int, eos_ids) -> tuple[str, bool, int]:
    """(text of the contiguous committed prefix, region closed?, committed tokens dropped)."""
    eos = set(eos_ids)
    gap = ids.index(mask_id) if mask_id in ids else len(ids)
    prefix, rest = ids[:gap], ids[gap:]
    dropped = sum(t != mask_id for t in rest)
    closed = gap == len(ids)
    end = next((j for j, t in enumerate(prefix) if t in eos), None)
    if end is not None:
        closed = True
        dropped += sum(t not in eos for t in prefix[end:])
        prefix = prefix[:end]
    text = tokenizer.decode(prefix, skip_special_tokens=True) if prefix else ""
    return text, closed, dropped


def _encode(tgt, text: str) -> list[int]:
    return tgt.tokenizer.encode(text, add_special_tokens=False) if text else []


def _runs(ids: list[int], mask_id: int) -> list[tuple[int, int, list[int]]]:
    """(masks before it, start index, committed run) for every maximal committed run."""
    out, gap, start = [], 0, 0
    for masked, group in groupby(ids, key=lambda t: t == mask_id):
        run = list(group)
        if masked:
            gap = len(run)
        else:
            out.append((gap, start, run))
            gap = 0
        start += len(run)
    return out


def _tail_after_gap(ids: list[int], src) -> bool:
    """Committed tokens after the first gap, with no EOS before it (an open region)."""
    if src.mask_id not in ids:
        return False
    gap = ids.index(src.mask_id)
    eos = set(src.eos_ids)
    return not any(t in eos for t in ids[:gap]) and any(t != src.mask_id for t in ids[gap:])


def translate_region(
    ids: list[int], src, length: int, tgt, gaps: str = "drop"
) -> tuple[list[int], BridgeStats]:
    """One region of `src` tokens -> `length` target tokens by the registered gap rule `gaps`."""
    return BRIDGES.get(gaps)(ids, src, length, tgt)


@register_bridge("drop")
def drop(ids: list[int], src, length: int, tgt) -> tuple[list[int], BridgeStats]:
    """The contiguous committed prefix as text, then EOS (closed) or masks (TIE_SPEC)."""
    text, closed, dropped = committed_text(ids, src.tokenizer, src.mask_id, src.eos_ids)
    new = _encode(tgt, text)
    truncated = max(0, len(new) - length)
    new = new[:length]
    back = tgt.tokenizer.decode(new, skip_special_tokens=True) if new else ""
    fill = fill_eos_id(tgt) if closed else tgt.mask_id
    return new + [fill] * (length - len(new)), BridgeStats(dropped, truncated, back != text)


@register_bridge("offsets")
def offsets(ids: list[int], src, length: int, tgt) -> tuple[list[int], BridgeStats]:
    """Runs after a gap kept, each after its gap's width in target masks (TIE_SPEC's option)."""
    if _tail_after_gap(ids, src):
        return _translate_runs(ids, src, length, tgt, scale_gaps=False)
    return drop(ids, src, length, tgt)


@register_bridge("chars", status="experimental")
def chars(ids: list[int], src, length: int, tgt) -> tuple[list[int], BridgeStats]:
    """As offsets, gap widths scaled by the target/source tokens per character."""
    if _tail_after_gap(ids, src):
        return _translate_runs(ids, src, length, tgt, scale_gaps=True)
    return drop(ids, src, length, tgt)


def _decode(backend, ids: list[int], exact: bool) -> str:
    if not ids:
        return ""
    if exact:
        return backend.tokenizer.decode(
            ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
    return backend.tokenizer.decode(ids, skip_special_tokens=True)


def _gap_ratio(runs, src, tgt) -> float:
    """Target tokens per source token on the committed text of the runs (1 when empty)."""
    eos = set(src.eos_ids)
    kept = [[t for t in run if t not in eos] for _, _, run in runs]
    n_src = sum(map(len, kept))
    n_tgt = sum(len(_encode(tgt, _decode(src, r, True))) for r in kept if r)
    return n_tgt / n_src if n_src and n_tgt else 1.0


def _translate_runs(
    ids: list[int], src, length: int, tgt, scale_gaps: bool = False
) -> tuple[list[int], BridgeStats]:
    """`gaps="offsets"`: each committed run after its gap's width in target masks; an EOS inside
    a run closes the region there (as in the prefix rule). `scale_gaps` ("chars"): gap widths
    scaled by the target/source token ratio of the committed text (at least one mask)."""
    eos, out, dropped, mismatch, closed = set(src.eos_ids), [], 0, False, False
    runs = _runs(ids, src.mask_id)
    ratio = _gap_ratio(runs, src, tgt) if scale_gaps else 1.0
    for gap, start, run in runs:
        out += [tgt.mask_id] * (max(1, round(gap * ratio)) if gap and scale_gaps else gap)
        end = next((j for j, t in enumerate(run) if t in eos), None)
        if end is not None:  # closed: committed non-EOS tokens from here on are dropped
            dropped += sum(t != src.mask_id and t not in eos for t in ids[start + end :])
            run, closed = run[:end], True
        text = _decode(src, run, scale_gaps)
        new = _encode(tgt, text)
        mismatch |= _decode(tgt, new, scale_gaps) != text
        out += new
        if closed:
            break
    truncated = sum(t != tgt.mask_id for t in out[length:])
    out = out[:length]
    fill = fill_eos_id(tgt) if closed else tgt.mask_id
    return out + [fill] * (length - len(out)), BridgeStats(dropped, truncated, mismatch)


def translate_rows(
    x_src: torch.Tensor,
    src,
    src_layout,
    template: torch.Tensor,
    tgt,
    tgt_layout,
    gaps: str = "drop",
) -> tuple[torch.Tensor, list[BridgeStats]]:
    """Translate canvases [N, Ls] of `src` into `tgt` canvases built on `template` [N, Lt].

    `template` holds the target's own prompt and suffix for the same problems; its regions are
    overwritten by the translated text. `gaps`: what happens to committed tokens after a masked
    gap (module docstring).
    """
    if x_src.shape[0] != template.shape[0]:
        raise ValueError(f"{x_src.shape[0]} source rows but {template.shape[0]} target rows")
    src_spans, tgt_spans = region_spans(src_layout), region_spans(tgt_layout)
    out = template.clone()
    stats: list[BridgeStats] = []
    rows = x_src.tolist()
    for i, row in enumerate(rows):
        total = BridgeStats()
        for region, (s0, slen) in src_spans.items():
            t0, tlen = tgt_spans[region]
            new, st = translate_region(row[s0 : s0 + slen], src, tlen, tgt, gaps)
            if tlen:
                out[i, t0 : t0 + tlen] = torch.tensor(new, dtype=out.dtype)
            total += st
        stats.append(total)
    return out, stats
