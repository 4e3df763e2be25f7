"""The measurements: decoding throughput, reference-loop comparison, method cost and tracing cost.

Every suite takes the same models and prompts from one process, so the ratios between rows of
one run are fair (same machine state, same warm caches). Each timed call is repeated and the
median is kept; the first `warmup` calls are not timed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from tie.bench.meter import Meter
from tie.bench.reference import left_pad, llada_reference_generate


@dataclass(frozen=True)
class BudgetTask:
    """A task with its canvas budget overridden (longer regions for real-scale timing)."""

    inner: Any
    budget: Any

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def answer_suffix(self) -> str:
        return self.inner.answer_suffix

    def score(self, text: str, row: dict) -> Any:
        return self.inner.score(text, row)


def _take(items: list, n: int) -> list:
    """The first n items, cycling when there are fewer."""
    return [items[i % len(items)] for i in range(n)]


def _decode(decoder, build_canvas, batch, r, suffix, a, signals):
    state = build_canvas(decoder.backend, batch, r, suffix, a)
    return decoder.run(state, want_signals=signals)


def _traced(run_method, tracer_cls, dirs, method, constituents, prompts, task, options):
    with tracer_cls(next(dirs)) as tracer:
        return run_method(method, constituents, prompts, task, options, tracer)


def throughput(models, prompts, task, decode_config, batch_sizes, meter: Meter, repeats, warmup):
    """Single-model decoding of the task canvas at each batch size (signals off, then on)."""
    from tie.decoding import Decoder, build_canvas
    from tie.decoding.canvas import task_regions

    rows = []
    for m in models:
        r, a = task_regions(m.backend, task, decode_config)
        ids = [m.backend.chat_prompt(p) for p in prompts]
        decoder = Decoder(m.backend, decode_config)
        for bs in batch_sizes:
            batch = _take(ids, bs)
            variants = [False] if bs != max(batch_sizes) else [False, True]
            for signals in variants:
                run = partial(
                    _decode, decoder, build_canvas, batch, r, task.answer_suffix, a, signals
                )
                label = f"throughput {m.name} batch {bs}{' signals' if signals else ''}"
                state, t = meter.repeat(run, repeats, warmup, label)
                steps = int(state.nfe.max())
                tokens = bs * (r + a)
                rows.append(
                    {
                        "model": m.name,
                        "batch": bs,
                        "signals": signals,
                        "canvas_len": int(state.x.shape[1]),
                        "tokens_decoded": tokens,
                        "nfe_per_problem": float(state.nfe.double().mean()),
                        "problems_per_s": bs / t["wall_s"],
                        "tokens_per_s": tokens / t["wall_s"],
                        "ms_per_step": 1e3 * t["wall_s"] / max(steps, 1),
                        "peak_mb": t["peak_bytes"] / 2**20,
                        **t,
                    }
                )
    return rows


def reference(models, prompts, gen_length, block_length, batch_sizes, meter, repeats, warmup):
    """LLaDA's reference loop vs our `generate`, same model, inputs and settings (greedy);
    the two are timed round-robin."""
    from tie.decoding import DecodeConfig, generate

    rows = []
    for m in models:
        ids_all = [m.backend.chat_prompt(p) for p in prompts]
        for bs in batch_sizes:
            ids, am = left_pad(_take(ids_all, bs), m.backend.pad_id)
            jobs = {
                "ref": partial(
                    llada_reference_generate,
                    m.backend,
                    ids,
                    am,
                    gen_length,
                    block_length,
                    gen_length,
                ),
                "ours": partial(
                    generate,
                    m.backend,
                    ids,
                    am,
                    gen_length=gen_length,
                    config=DecodeConfig(block_length=block_length, steps=gen_length),
                ),
            }
            res = meter.interleave(jobs, repeats, warmup, f"reference {m.name} batch {bs}")
            (x_ref, ref_nfe), t_ref = res["ref"]
            x_ours, t_ours = res["ours"]
            rows.append(
                {
                    "model": m.name,
                    "batch": bs,
                    "gen_length": gen_length,
                    "block_length": block_length,
                    "reference_wall_s": t_ref["wall_s"],
                    "ours_wall_s": t_ours["wall_s"],
                    "speedup": t_ref["wall_s"] / t_ours["wall_s"],
                    "cpu_speedup": t_ref["cpu_s"] / t_ours["cpu_s"],
                    "reference_forwards": ref_nfe,
                    "identical_tokens": bool(torch.equal(x_ref.cpu(), x_ours.cpu())),
                    "reference_peak_mb": t_ref["peak_bytes"] / 2**20,
                    "ours_peak_mb": t_ours["peak_bytes"] / 2**20,
                    "reference_tokens_per_s": bs * gen_length / t_ref["wall_s"],
                    "ours_tokens_per_s": bs * gen_length / t_ours["wall_s"],
                }
            )
    return rows


def _plain_decode(constituent, prompts, task):
    """The constituent alone through the bare decoder (no engine, no signals): the floor."""
    from tie.decoding import Decoder
    from tie.decoding.canvas import task_canvas

    ids = [constituent.backend.chat_prompt(p) for p in prompts]
    state = task_canvas(constituent.backend, ids, task, constituent.decode_config)
    Decoder(constituent.backend, constituent.decode_config).run(state, want_signals=False)
    return state


def methods(
    constituents,
    prompts,
    task,
    options,
    method_names,
    meter: Meter,
    repeats,
    warmup,
    tracing: bool,
    placement: str,
    unbatched_scoring: bool = False,
):
    """Each method on one batch: wall, CPU time, NFE and peak memory per problem, trace off (and
    on), next to each constituent alone through the bare decoder (`decode:<m>`). With
    `unbatched_scoring`, every logit scoring also runs with `batched_scoring=false` (row
    `<method> unbatched`, its outputs compared with the batched run's). All jobs are timed
    round-robin so load changes on a shared machine hit them alike."""
    from tie.ensemble import run_method as run
    from tie.ensemble.concurrent import members_for
    from tie.tracing import Tracer

    run_method = partial(run, members=members_for(placement))
    b = len(prompts)
    tmp = Path(tempfile.mkdtemp(prefix="tie-bench-traces-"))
    jobs = {}
    for c in constituents:
        jobs[f"decode:{c.name}"] = partial(_plain_decode, c, prompts, task)
    unbatched = [m for m in method_names if unbatched_scoring and logit_scoring(m)]
    off = dataclasses.replace(options, batched_scoring=False)
    for method in method_names:
        jobs[method] = partial(run_method, method, constituents, prompts, task, options)
        if method in unbatched:
            jobs[f"{method} unbatched"] = partial(
                run_method, method, constituents, prompts, task, off
            )
        if tracing:
            dirs = (tmp / f"{method.replace(':', '_')}-{i}" for i in range(repeats + warmup))
            jobs[f"traced|{method}"] = partial(
                _traced, run_method, Tracer, dirs, method, constituents, prompts, task, options
            )
    try:
        res = meter.interleave(jobs, repeats, warmup, f"methods ({placement}, batch {b})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    names = [f"decode:{c.name}" for c in constituents] + list(method_names)
    names += [f"{m} unbatched" for m in unbatched]
    for name in names:
        out, t = res[name]
        nfe = out.nfe.double().mean().item() if name.startswith("decode:") else None
        row = {
            "method": name,
            "placement": placement,
            "batch": b,
            "wall_s": t["wall_s"],
            "cpu_s": t["cpu_s"],
            "wall_per_problem_s": t["wall_s"] / b,
            "nfe_per_problem": nfe if nfe is not None else sum(o.nfe for o in out) / b,
            "peak_mb": t["peak_bytes"] / 2**20,
            "peak_mb_per_problem": t["peak_bytes"] / 2**20 / b,
            "wall_all_s": t["wall_all_s"],
        }
        if f"traced|{name}" in res:
            t_on = res[f"traced|{name}"][1]
            row["traced_wall_s"] = t_on["wall_s"]
            row["tracing_overhead"] = t_on["wall_s"] / t["wall_s"]
            row["tracing_cpu_overhead"] = t_on["cpu_s"] / t["cpu_s"]
            row["traced_peak_mb"] = t_on["peak_bytes"] / 2**20
        if logit_scoring(name.removesuffix(" unbatched")):
            row["batched_scoring"] = not name.endswith(" unbatched")
        if name.endswith(" unbatched"):
            row["same_as_batched"] = same_outputs(out, res[name.removesuffix(" unbatched")][0])
        rows.append(row)
    add_ratios(rows, [c.name for c in constituents])
    return rows


def logit_scoring(method: str) -> bool:
    """`tie:<s>` with a logit scoring (one that re-scores with forwards: batched_scoring applies)."""
    from tie.ensemble.registry import SCORINGS

    kind, _, arg = method.partition(":")
    return kind == "tie" and arg in SCORINGS and not getattr(SCORINGS.get(arg), "counts", False)


def same_outputs(a: list, b: list) -> bool:
    """Two runs of a method gave the same predictions, leaders, candidates and NFE."""
    keys = ("prediction", "selected_model", "leaders", "candidates", "nfe")
    return [[getattr(o, k) for k in keys] for o in a] == [[getattr(o, k) for k in keys] for o in b]


def add_ratios(rows: list[dict], names: list[str]) -> None:
    """Each ensemble row over the summed constituents of the same placement: NFE, wall and CPU
    time over the `single:<m>` runs (same engine), wall over the bare decoder (`decode:<m>`)."""
    for placement in {r["placement"] for r in rows}:
        group = {r["method"]: r for r in rows if r["placement"] == placement}

        def total(prefix, key, group=group):
            vals = [group.get(f"{prefix}:{n}", {}).get(key) for n in names]
            return None if None in vals else sum(vals)

        for r in group.values():
            if r["method"].startswith(("single:", "decode:")):
                continue
            for key, prefix, metric in [
                ("nfe_ratio", "single", "nfe_per_problem"),
                ("wall_ratio", "single", "wall_s"),
                ("cpu_ratio", "single", "cpu_s"),
                ("wall_ratio_vs_decoder", "decode", "wall_s"),
            ]:
                denom = total(prefix, metric)
                if denom:
                    r[key] = r[metric] / denom


@contextlib.contextmanager
def placement_threads(placement: str, models: list) -> Iterator[None]:
    """per_model on the CPU: each constituent gets its share of the intra-op threads (threads //
    members, at least 1), for its `single:<m>` and `decode:<m>` rows as for its worker in the
    ensembles (tie.ensemble.concurrent); shared: the run's threads."""
    from tie.ensemble.concurrent import member_threads

    n = torch.get_num_threads()
    cpu = all(torch.device(m.backend.device).type == "cpu" for m in models)
    if placement == "per_model" and cpu:
        torch.set_num_threads(member_threads(len(models)))
    try:
        yield
    finally:
        torch.set_num_threads(n)


def add_concurrency_ratios(rows: list[dict], names: list[str]) -> None:
    """Each per_model (concurrent) ensemble's wall over its slowest constituent alone
    (`single:<m>`): in its own placement (the constituent on its own device, or its share of the
    cores) and in the shared placement (the constituent alone with the whole machine)."""
    for r in rows:
        if r["placement"] != "per_model" or r["method"].startswith(("single:", "decode:")):
            continue
        for key, placement in (
            ("wall_ratio_vs_slowest", "per_model"),
            ("wall_ratio_vs_slowest_shared", "shared"),
        ):
            walls = [
                s["wall_s"]
                for s in rows
                if s["placement"] == placement and s["method"] in [f"single:{n}" for n in names]
            ]
            if len(walls) == len(names):
                r[key] = r["wall_s"] / max(walls)


# Issue 8's targets, the logit scorings' wall tightened by issue 23 (batched scoring), and
# issue 23's concurrent members: (method prefix, metric, bound).
TARGETS = (
    ("tie:tcc", "nfe_ratio", 1.02),
    ("tie:tcc", "wall_ratio", 1.15),
    ("tie:tcc", "cpu_ratio", 1.15),
    ("tie:top1", "wall_ratio", 1.15),
    ("tie:entropy", "wall_ratio", 1.15),
    ("tie:margin", "wall_ratio", 1.15),
    ("tie:top1", "cpu_ratio", 1.30),
    ("tie:entropy", "cpu_ratio", 1.30),
    ("tie:margin", "cpu_ratio", 1.30),
    ("tie:tcc", "wall_ratio_vs_slowest", 1.30),
)


def check_targets(method_rows: list[dict], reference_rows: list[dict]) -> list[dict]:
    """Pass/fail of every target the run measured."""
    out = []
    for r in method_rows:
        for method, metric, bound in TARGETS:
            if r["method"] == method and metric in r:
                out.append(
                    {
                        "target": f"{method} {metric} <= {bound} ({r['placement']})",
                        "value": r[metric],
                        "pass": bool(r[metric] <= bound),
                    }
                )
    for r in reference_rows:
        out.append(
            {
                "target": f"decoder >= reference loop ({r['model']}, batch {r['batch']})",
                "value": r["speedup"],
                "pass": bool(r["speedup"] >= 1.0),
            }
        )
        out.append(
            {
                "target": f"decoder tokens == reference tokens ({r['model']}, batch {r['batch']})",
                "value": float(r["identical_tokens"]),
                "pass": r["identical_tokens"],
            }
        )
    return out
