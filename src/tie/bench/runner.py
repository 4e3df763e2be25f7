"""`run_bench(config)`: build the models once, run the chosen suites, write JSON + Markdown."""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from tie.bench import cache as cache_suite
from tie.bench import suites
from tie.bench.config import BenchConfig
from tie.bench.meter import Meter, log
from tie.bench.models import (
    BenchInputError,
    build_models,
    check_names,
    default_names,
    resolve_source,
)
from tie.bench.report import write_outputs
from tie.runs.meta import git_info


def default_methods(names: list[str]) -> list[str]:
    from tie.ensemble.registry import SCORINGS

    return [f"single:{n}" for n in names] + ["post"] + [f"tie:{s}" for s in SCORINGS.names()]


def check_methods(methods: list[str], names: list[str]) -> None:
    """Methods must be ones the ensemble knows; every single:<m> a chosen model."""
    from tie.ensemble.registry import SCORINGS

    scorings = SCORINGS.names()
    for m in methods:
        kind, _, arg = m.partition(":")
        ok = (
            (kind == "single" and arg in names)
            or m == "post"
            or (kind == "tie" and arg in scorings)
        )
        if not ok:
            raise BenchInputError(
                f"method {m!r} not benchmarkable; use single:<{'|'.join(names)}>, post, "
                f"tie:<{'|'.join(scorings)}>"
            )
    if any(not m.startswith("single:") for m in methods) and len(names) < 2:
        raise BenchInputError("ensemble methods need at least two models")


def _git_commit() -> str | None:
    """Short revision of the code measured, marked when the tree had uncommitted changes."""
    info = git_info()
    if not info["revision"]:
        return None
    return info["revision"][:7] + (" + uncommitted changes" if info["dirty"] else "")


def environment(cfg: BenchConfig, meter: Meter) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "command": " ".join(["python -m tie.bench", *sys.argv[1:]]),
        "memory_method": meter.memory_method,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if hasattr(os, "getloadavg"):
        env["load_avg_1m_at_start"] = os.getloadavg()[0]
    if meter.cuda:
        env["gpu"] = torch.cuda.get_device_name(meter.device)
    return env


def load_task(cfg: BenchConfig):
    from tie.tasks import get_task
    from tie.tasks.base import CanvasBudget

    task = get_task(cfg.task)
    if cfg.reasoning_len is None and cfg.answer_len is None:
        return task
    answer = task.budget.answer_len if cfg.answer_len is None else cfg.answer_len
    if cfg.reasoning_len is None and task.budget.gen_length is not None:
        budget = CanvasBudget(answer_len=answer, gen_length=task.budget.gen_length)
    else:
        reasoning = task.budget.reasoning_len if cfg.reasoning_len is None else cfg.reasoning_len
        budget = CanvasBudget(reasoning, answer)
    return suites.BudgetTask(task, budget)


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Run every suite in `cfg.suites`; returns the results dict (also written to disk)."""
    from tie.decoding import DecodeConfig
    from tie.ensemble import Constituent, EnsembleOptions

    cfg.validate()
    source = resolve_source(cfg.source)
    names = cfg.models or default_names(source)
    check_names(source, names)
    method_names = cfg.methods or default_methods(names)
    check_methods(method_names, names)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    dtype = cfg.torch_dtype()
    task = load_task(cfg)
    n_prompts = max([cfg.n_problems, *cfg.batch_sizes, *cfg.reference_batch_sizes])
    rows = list(task.load() if not isinstance(task, suites.BudgetTask) else task.inner.load())
    builder = task.inner if isinstance(task, suites.BudgetTask) else task
    prompts = [builder.build_prompt(r) for r in suites._take(rows, n_prompts)]
    decode_config = DecodeConfig(block_length=cfg.block_length, rounding="ceil")
    options = EnsembleOptions(interval=cfg.interval)
    meter = Meter(device)
    t0 = time.perf_counter()
    models = build_models(source, names, [device], dtype, cfg.real_size, cfg.seed)
    log.info("built %s (%s, %s) in %.1f s; suites: %s", ", ".join(names), source, device,
             time.perf_counter() - t0, ", ".join(cfg.suites))  # fmt: skip
    result: dict[str, Any] = {
        "config": dataclasses.asdict(cfg),
        "environment": environment(cfg, meter),
        "source": source,
        "dtype": str(dtype).removeprefix("torch."),
        "task": {
            "name": task.name,
            "reasoning_len": task.budget.reasoning_len,
            "gen_length": task.budget.gen_length,
            "answer_len": task.budget.answer_len,
            "answer_suffix": task.answer_suffix,
        },
        "models": [
            {"name": m.name, "family": m.backend.family, "params": m.n_params, "source": m.source}
            for m in models
        ],
        "throughput": [],
        "reference": [],
        "methods": [],
        "cache": [],
    }
    if "throughput" in cfg.suites:
        result["throughput"] = suites.throughput(
            models, prompts, task, decode_config, cfg.batch_sizes, meter, cfg.repeats, cfg.warmup
        )
    if "reference" in cfg.suites:
        result["reference"] = suites.reference(
            models,
            prompts,
            cfg.gen_length,
            cfg.block_length,
            cfg.reference_batch_sizes,
            meter,
            cfg.repeats,
            cfg.warmup,
        )
    if "methods" in cfg.suites or "tracing" in cfg.suites:
        placements = [("shared", models)]
        if cfg.devices:  # per_model: members decode concurrently (also devices=cpu,cpu)
            per_model = build_models(
                source,
                names,
                [torch.device(d) for d in cfg.devices],
                dtype,
                cfg.real_size,
                cfg.seed,
            )
            placements.append(("per_model", per_model))
        batch = prompts[: cfg.n_problems]
        for placement, ms in placements:
            constituents = [Constituent(m.name, m.backend, decode_config) for m in ms]
            with suites.placement_threads(placement, ms):
                result["methods"] += suites.methods(
                    constituents,
                    batch,
                    task,
                    options,
                    method_names,
                    meter,
                    cfg.repeats,
                    cfg.warmup,
                    tracing="tracing" in cfg.suites,
                    placement=placement,
                    unbatched_scoring=cfg.unbatched_scoring and "methods" in cfg.suites,
                )
        suites.add_concurrency_ratios(result["methods"], [m.name for m in models])
    if "cache" in cfg.suites:
        result["cache"] = cache_suite.cache_speed(
            models,
            cfg.prompt_len,
            cfg.cache_gen_length,
            cfg.cache_block_length,
            cfg.cache_batch_sizes,
            cfg.cache_modes,
            meter,
            cfg.repeats,
            cfg.warmup,
            cfg.seed,
        )
    result["targets"] = suites.check_targets(result["methods"], result["reference"])
    result["targets"] += cache_suite.cache_targets(result.get("cache", []))
    result["total_wall_s"] = time.perf_counter() - t0
    result["files"] = write_outputs(result, Path(cfg.out_dir), cfg.tag)
    return result
