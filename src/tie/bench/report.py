"""Write a benchmark result as `bench_<tag>.json` and a Markdown table `bench_<tag>.md`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return "" if v is None else str(v)


def table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    """Markdown table of `rows` with (key, header) columns; missing keys left blank."""
    if not rows:
        return "_not run_\n"
    head = "| " + " | ".join(h for _, h in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = ["| " + " | ".join(_fmt(r.get(k)) for k, _ in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body]) + "\n"


def markdown(result: dict) -> str:
    env, task = result["environment"], result["task"]
    models = ", ".join(
        f"{m['name']} ({m['family']}, {m['params']:,} params)" for m in result["models"]
    )
    lines = [
        f"# Benchmark `{result['config']['tag']}`",
        "",
        f"* Command: `{env['command']}` (commit {env.get('git_commit')}, {env['started']})",
        f"* Models ({result['source']}, {result['dtype']}, {result['config']['device']}): {models}",
        f"* Task canvas: {task['name']}, reasoning {task['reasoning_len']}, suffix "
        f"{task['answer_suffix']!r}, answer {task['answer_len']}; block length "
        f"{result['config']['block_length']}, one token per step, greedy low-confidence",
        f"* Machine: {env['platform']}, {env['cpu_count']} CPUs, torch {env['torch']} with "
        f"{env['torch_threads']} threads"
        + (f", GPU {env['gpu']}" if "gpu" in env else "")
        + (
            f", 1-min load {env['load_avg_1m_at_start']:.1f} at start"
            if "load_avg_1m_at_start" in env
            else ""
        ),
        f"* Timing: median of {result['config']['repeats']} runs after {result['config']['warmup']} "
        f"warm-up; peak memory: `{env['memory_method']}` (see tie/bench/meter.py); total "
        f"{result['total_wall_s']:.0f} s",
        "",
        "## Single-model decoding throughput",
        "",
        table(
            result["throughput"],
            [
                ("model", "model"),
                ("batch", "batch"),
                ("signals", "signals"),
                ("problems_per_s", "problems/s"),
                ("tokens_per_s", "tokens/s"),
                ("ms_per_step", "ms/step"),
                ("nfe_per_problem", "NFE/problem"),
                ("peak_mb", "peak MB"),
            ],
        ),
        "## Our decoder vs LLaDA's reference loop (same model, inputs, greedy)",
        "",
        table(
            result["reference"],
            [
                ("model", "model"),
                ("batch", "batch"),
                ("gen_length", "gen"),
                ("reference_wall_s", "reference s"),
                ("ours_wall_s", "ours s"),
                ("speedup", "speed-up (wall)"),
                ("cpu_speedup", "speed-up (CPU time)"),
                ("reference_forwards", "ref forwards"),
                ("identical_tokens", "same tokens"),
                ("reference_peak_mb", "ref peak MB"),
                ("ours_peak_mb", "ours peak MB"),
            ],
        ),
        "## Methods (one batch; ratios over the summed single-model runs)",
        "",
        "`decode:<m>` is model m alone through the bare decoder (no engine, no signals);"
        " `single:<m>` the same model through the ensemble engine. NFE, wall and CPU-time ratios"
        " divide by the summed `single:<m>` rows, `wall / bare decoders` by the summed"
        " `decode:<m>` rows. `<method> unbatched`: the logit scoring with"
        " `batched_scoring=false` (one forward per (member, scorer) pair instead of one per"
        " scorer; same NFE). per_model: the members decode concurrently (one worker each, on"
        " the CPU threads // members intra-op threads each, singles too); `wall / slowest single`"
        " divides by the slowest `single:<m>` of the same placement, `(shared)` by the slowest"
        " `single:<m>` with the whole machine.",
        "",
        table(
            result["methods"],
            [
                ("method", "method"),
                ("placement", "placement"),
                ("batch", "batch"),
                ("wall_per_problem_s", "wall s/problem"),
                ("nfe_per_problem", "NFE/problem"),
                ("peak_mb_per_problem", "peak MB/problem"),
                ("nfe_ratio", "NFE ratio"),
                ("wall_ratio", "wall ratio"),
                ("cpu_ratio", "CPU-time ratio"),
                ("wall_ratio_vs_decoder", "wall / bare decoders"),
                ("wall_ratio_vs_slowest", "wall / slowest single"),
                ("wall_ratio_vs_slowest_shared", "wall / slowest single (shared)"),
                ("tracing_overhead", "trace on/off (wall)"),
                ("tracing_cpu_overhead", "trace on/off (CPU)"),
                ("batched_scoring", "batched scoring"),
                ("same_as_batched", "outputs as batched"),
            ],
        ),
        "## KV cache (`decoding.cache`; single model, plain layout, signals off)",
        "",
        "On each `none` row, one exact step: `ms/step` (wall / steps), `body ms` (the body alone "
        "over prompt and generation), `head ms` (the head alone over one block; medians of 7). "
        "A KV cache saves at most the body: `ceiling (free body)` = ms/step / (ms/step - body ms) "
        "is the speed-up of a cache whose body cost nothing, on these shapes.",
        "",
        table(
            result.get("cache", []),
            [
                ("model", "model"),
                ("batch", "batch"),
                ("prompt_len", "prompt"),
                ("gen_length", "gen"),
                ("block_length", "block"),
                ("cache", "cache"),
                ("wall_s", "wall s"),
                ("tokens_per_s", "tokens/s"),
                ("cpu_s", "CPU s"),
                ("speedup", "speed-up vs none"),
                ("cpu_speedup", "speed-up (CPU time)"),
                ("same_tokens_as_none", "tokens as none"),
                ("nfe_per_problem", "NFE/problem"),
                ("peak_mb", "peak MB"),
                ("step_ms", "ms/step"),
                ("body_ms", "body ms"),
                ("head_ms", "head ms"),
                ("ceiling", "ceiling (free body)"),
            ],
        ),
        "## Targets (issues 8, 23)",
        "",
        table(result["targets"], [("target", "target"), ("value", "value"), ("pass", "met")]),
    ]
    return "\n".join(lines)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(result: dict, out_dir: Path, tag: str) -> dict[str, str]:
    """Write both files (atomically); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "json": str(out_dir / f"bench_{tag}.json"),
        "markdown": str(out_dir / f"bench_{tag}.md"),
    }
    result = {**result, "files": files}
    _atomic_write(Path(files["json"]), json.dumps(result, indent=1, default=str) + "\n")
    _atomic_write(Path(files["markdown"]), markdown(result))
    return files
