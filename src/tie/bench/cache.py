"""The `cache` suite: single-model decoding speed with `decoding.cache=none|prefix|dual`.

Plain layout `prompt | generation` at the benchmarks' lengths (prompt 512, generation 256,
blocks of 32 by default), greedy low-confidence remasking, one token per step, signals off. The
prompt is random ids of the model's vocabulary (no special ids): speed depends on the shapes,
not on the text. The three modes are timed round-robin on the same inputs; next to each cached
row, the share of generated tokens equal to the exact (`none`) decode. Next to each `none` row,
what one exact step is made of (`step_parts`: the body alone, the head alone): the body's share
is all a KV cache can save, so `ceiling` = the speed-up of a cache whose body costs nothing, on
these shapes.
"""

from __future__ import annotations

import statistics
import time
from functools import partial

import torch

CACHE_MODES = ("none", "prefix", "dual")
CACHE_TARGET = 2.0  # issue 23: >= 2x single-model decoding speed at prompt 512 / generation 256


def random_prompts(backend, batch: int, length: int, seed: int) -> torch.Tensor:
    """[batch, length] ids drawn from the vocabulary minus the mask, end and pad ids."""
    special = {backend.mask_id, backend.pad_id, *backend.eos_ids}
    vocab = backend.info.vocab_size
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab - len(special), (batch, length), generator=g)
    for s in sorted(special):  # shift past each special id: a bijection onto the allowed ids
        ids += (ids >= s).long()
    return ids


def decode_plain(backend, ids: torch.Tensor, gen_length: int, block_length: int, mode: str):
    """The decoded state of `ids` (no padding) under `decoding.cache=mode`."""
    from tie.decoding import DecodeConfig, Decoder
    from tie.decoding.canvas import CanvasLayout, assemble
    from tie.decoding.state import DecodeState

    cfg = DecodeConfig(block_length=block_length, rounding="ceil", cache=mode)
    layout = CanvasLayout.plain(int(ids.shape[1]), gen_length)
    dev = backend.device
    x, am = assemble(ids.to(dev), torch.ones_like(ids, device=dev), layout, backend.mask_id)
    state = DecodeState.fresh(x, am, layout, backend.mask_id)
    Decoder(backend, cfg).run(state, want_signals=False)
    return state


def head_weight(backend) -> torch.Tensor:
    """The output head's [V, d] weight: the model's last 2-D parameter with a row per vocabulary
    id (our LLaDA / Dream classes; the embedding when tied)."""
    v = backend.info.vocab_size
    found = [p for p in backend.model.parameters() if p.dim() == 2 and p.shape[0] == v]
    if not found:
        raise ValueError(f"{backend.info.name}: no [{v}, d] output head among its parameters")
    return found[-1]


def step_parts(backend, ids: torch.Tensor, gen_length: int, block_length: int, repeats: int = 7):
    """(body ms, head ms): median wall of the body alone over an exact step's canvas (prompt and
    generation; our classes' forward with the head over no position) and of the head alone over
    one block, timed alternately (the pair sees the same machine)."""
    from tie.decoding.canvas import CanvasLayout, assemble

    dev, (bs, prompt_len) = backend.device, ids.shape
    layout = CanvasLayout.plain(prompt_len, gen_length)
    x, am = assemble(ids.to(dev), torch.ones_like(ids, device=dev), layout, backend.mask_id)
    w = head_weight(backend)
    h = torch.randn(bs * min(block_length, gen_length), w.shape[1], dtype=w.dtype, device=dev)

    def ms(f) -> float:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        f()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return 1000 * (time.perf_counter() - t0)

    body, head = [], []
    with torch.inference_mode():
        for _ in range(repeats + 1):  # the first pair is a warm-up
            body.append(ms(lambda: backend.model(x, attention_mask=am, keep=slice(0, 0))))
            head.append(ms(lambda: torch.nn.functional.linear(h, w)))
    return statistics.median(body[1:]), statistics.median(head[1:])


def cache_speed(
    models,
    prompt_len: int,
    gen_length: int,
    block_length: int,
    batch_sizes: list[int],
    modes: list[str],
    meter,
    repeats: int,
    warmup: int,
    seed: int = 0,
) -> list[dict]:
    """One row per (model, batch, mode): wall, tokens/s, speed-up over `none`, tokens kept."""
    rows = []
    for m in models:
        for bs in batch_sizes:
            ids = random_prompts(m.backend, bs, prompt_len, seed)
            jobs = {
                mode: partial(decode_plain, m.backend, ids, gen_length, block_length, mode)
                for mode in modes
            }
            res = meter.interleave(jobs, repeats, warmup, f"cache {m.name} batch {bs}")
            base = res.get("none")
            parts = step_parts(m.backend, ids, gen_length, block_length) if base else None
            for mode in modes:
                state, t = res[mode]
                gen = state.x[:, prompt_len:]
                row = {
                    "model": m.name,
                    "batch": bs,
                    "prompt_len": prompt_len,
                    "gen_length": gen_length,
                    "block_length": block_length,
                    "cache": mode,
                    "wall_s": t["wall_s"],
                    "cpu_s": t["cpu_s"],
                    "tokens_per_s": bs * gen_length / t["wall_s"],
                    "nfe_per_problem": float(state.nfe.double().mean()),
                    "peak_mb": t["peak_bytes"] / 2**20,
                }
                if parts is not None and mode == "none":
                    # one exact step = body + head + the decoder's own work; a cache saves
                    # at most the body
                    step_ms = 1000 * t["wall_s"] / max(1.0, float(state.nfe.max()))
                    body = parts[0]
                    row.update(step_ms=step_ms, body_ms=body, head_ms=parts[1])
                    row["ceiling"] = step_ms / max(step_ms - body, 1e-9)
                if base is not None:
                    row["speedup"] = base[1]["wall_s"] / t["wall_s"]
                    row["cpu_speedup"] = base[1]["cpu_s"] / t["cpu_s"]
                    same = (gen == base[0].x[:, prompt_len:]).double().mean()
                    row["same_tokens_as_none"] = float(same)
                rows.append(row)
    return rows


def cache_targets(rows: list[dict]) -> list[dict]:
    """Issue 23's cache target on every cached row that has a `none` row to compare with."""
    return [
        {
            "target": f"cache={r['cache']} speed-up >= {CACHE_TARGET} ({r['model']}, batch "
            f"{r['batch']}, prompt {r['prompt_len']}, gen {r['gen_length']})",
            "value": r["speedup"],
            "pass": bool(r["speedup"] >= CACHE_TARGET),
        }
        for r in rows
        if r["cache"] != "none" and "speedup" in r
    ]
