"""GPU check (issue 23): speed of random-initialised LLaDA-8B and Dream-7B shapes in bf16.

Measures, in one `tie.bench` run: single-model tokens/s at batch 1 and 32, TIE's wall over its
constituents with both members on one device (and, when two GPUs are present, one member per
GPU), and the KV-cache speed-ups (`decoding.cache=prefix|dual` over `none`, prompt 512,
generation 256, blocks of 32). Writes `gpu_check.json` / `gpu_check.md` (a summary) next to the
bench's own `bench_gpu_check.*` in `--out` (default: $OUT when set, else experiments/performance).

No weights are downloaded: the models are our classes with the published config sizes. Sized to
finish in under 8 minutes on one H200 (`gpu_check.sh` kills it at 8). `--tiny` runs every step
with tiny shapes on CPU (what the test suite runs, so the script is known to work).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from tie.bench import BenchConfig

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["llada-8b", "dream-7b"]
METHODS = [*(f"single:{m}" for m in MODELS), "tie:tcc", "tie:top1"]


# size: (tiny, on CPU; full, on GPU)
SIZES = {
    "real_size": ("tiny", "full"),
    "reasoning_len": (8, 48),
    "answer_len": (2, 16),
    "block_length": (4, 16),
    "batch_sizes": ([1, 4], [1, 32]),
    "n_problems": (2, 8),
    "interval": (4, 16),
    "prompt_len": (24, 512),
    "cache_gen_length": (16, 256),
    "cache_block_length": (8, 32),
}


def bench_config(tiny: bool, out_dir: str, n_gpus: int) -> BenchConfig:
    """The one bench run: full shapes on cuda:0 (members also on cuda:0 / cuda:1 when two GPUs),
    or tiny shapes on CPU."""
    from tie.bench import BenchConfig  # imported here: no GPU is refused before ~15 s of imports

    sizes = {name: pair[0 if tiny else 1] for name, pair in SIZES.items()}
    if tiny:
        place = dict(device="cpu")
    else:
        place = dict(
            device="cuda:0",
            devices=["cuda:0", "cuda:1"] if n_gpus >= 2 else None,
            cache_batch_sizes=[1],
        )
    return BenchConfig(
        source="real",
        models=MODELS,
        dtype="bfloat16",
        suites=["throughput", "methods", "cache"],
        methods=METHODS,
        repeats=1,
        warmup=1,
        tag="gpu_check",
        out_dir=out_dir,
        **sizes,
        **place,
    )


def summarise(result: dict) -> dict:
    """Tokens/s per (model, batch), TIE over its constituents per placement, cache speed-ups."""
    tput = [
        {"model": r["model"], "batch": r["batch"], "tokens_per_s": r["tokens_per_s"]}
        for r in result["throughput"]
        if not r["signals"]
    ]
    overhead = []
    for placement in sorted({r["placement"] for r in result["methods"]}):
        rows = {r["method"]: r for r in result["methods"] if r["placement"] == placement}
        singles = [rows[f"single:{m}"]["wall_s"] for m in MODELS if f"single:{m}" in rows]
        for method in ("tie:tcc", "tie:top1"):
            if method in rows and singles:
                overhead.append(
                    {
                        "placement": placement,
                        "method": method,
                        "wall_s": rows[method]["wall_s"],
                        "over_sum_of_members": rows[method]["wall_s"] / sum(singles),
                        "over_slowest_member": rows[method]["wall_s"] / max(singles),
                        "nfe_ratio": rows[method].get("nfe_ratio"),
                    }
                )
    cache = [
        {
            "model": r["model"],
            "batch": r["batch"],
            "cache": r["cache"],
            "tokens_per_s": r["tokens_per_s"],
            "speedup": r.get("speedup"),
            "same_tokens_as_none": r.get("same_tokens_as_none"),
            "ceiling": r.get("ceiling"),  # none rows: the speed-up of a cache with a free body
        }
        for r in result["cache"]
    ]
    return {
        "environment": result["environment"],
        "dtype": result["dtype"],
        "models": result["models"],
        "throughput": tput,
        "tie_overhead": overhead,
        "cache": cache,
        "total_wall_s": result["total_wall_s"],
        "bench_files": result["files"],
    }


def markdown(summary: dict, tiny: bool) -> str:
    env = summary["environment"]
    lines = [
        f"# GPU check{' (tiny shapes on CPU: a run check, not a measurement)' if tiny else ''}",
        "",
        f"* {env.get('gpu', 'no GPU')}; torch {env['torch']}; {summary['dtype']}; commit "
        f"{env.get('git_commit')}; total {summary['total_wall_s']:.0f} s",
        "",
        "| model | batch | tokens/s |",
        "|---|---|---|",
        *(
            f"| {r['model']} | {r['batch']} | {r['tokens_per_s']:.1f} |"
            for r in summary["throughput"]
        ),
        "",
        "| placement | method | wall s | / sum of members | / slowest member |",
        "|---|---|---|---|---|",
        *(
            f"| {r['placement']} | {r['method']} | {r['wall_s']:.2f} | "
            f"{r['over_sum_of_members']:.2f} | {r['over_slowest_member']:.2f} |"
            for r in summary["tie_overhead"]
        ),
        "",
        "| model | batch | cache | tokens/s | speed-up | tokens as none | ceiling (free body) |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['model']} | {r['batch']} | {r['cache']} | {r['tokens_per_s']:.1f} | "
            f"{r['speedup']:.2f} | {r['same_tokens_as_none']:.3f} | "
            f"{'' if r['ceiling'] is None else format(r['ceiling'], '.2f')} |"
            for r in summary["cache"]
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny shapes on CPU (a run check)")
    p.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "experiments/performance"))
    args = p.parse_args(argv)
    n_gpus = torch.cuda.device_count()
    if not args.tiny and n_gpus == 0:
        sys.exit("gpu_check: no CUDA device here; run with --tiny for the CPU run check")
    out = Path(args.out)
    t0 = time.perf_counter()
    from tie.bench import run_bench

    result = run_bench(bench_config(args.tiny, str(out), n_gpus))
    summary = summarise(result)
    summary["script_wall_s"] = time.perf_counter() - t0
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    (out / "gpu_check.md").write_text(markdown(summary, args.tiny))
    print(markdown(summary, args.tiny))
    return summary


if __name__ == "__main__":
    main()
