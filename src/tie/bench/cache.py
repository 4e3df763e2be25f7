"""The `cache` suite: single-model decoding speed with `decoding.cache=none|prefix|dual`.

Plain layout `prompt | generation` at the benchmarks' lengths (prompt 512, generation 256,
blocks of 32 by default), greedy low-confidence remasking, one token per step, signals off. The
prompt is random ids of the model's vocabulary (no special ids): speed depends on the shapes,
not on the text. The three modes are timed round-robin on the same inputs; next to each cached
row, the share of generated tokens equal to the exact (`none`) decode.
"""

from __future__ import annotations

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
            res = meter.interleave(jobs, repeats, warmup)
            base = res.get("none")
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
