"""TIE as an lm-evaluation-harness model, registered as `tie` (`--model tie`).

`--model_args models=llada-a|dream-b,method=tie:tcc[,<tie-run override>=<value>...]` composes
tie-run's own config (`conf/run.yaml`) with those overrides, checks it with `build_plan` and loads
the constituents with `EnsemblePredictModule.setup`, so a model, method, decoding or ensemble
option means here exactly what it means to `tie-run`; each batch of requests then runs through
`run_method` (the function tie-run's predict step calls) with the answer-suffix canvas.

How an lm-eval request maps onto the canvas `prompt | reasoning | suffix | answer`:
* the context is the user message (each constituent wraps it in its own chat template, as tie-run
  does: one lm-eval template cannot serve members of different families, so lm-eval's
  `--apply_chat_template` is refused);
* `answer_len` (model arg, default 16) tokens form the answer region; the reasoning region gets
  `reasoning_len` tokens (model arg), by default `max_gen_toks` minus `answer_len`, so the tokens
  generated match lm-eval's budget (the suffix is given text, not generated);
* `answer_suffix` (model arg, default "The answer is"; `\\n` means a newline) is the fixed text
  between the regions;
* the continuation returned to lm-eval is `reasoning + suffix + answer`, with each region cut at
  its first `until` string: a stop string ends the region it appears in, not the whole canvas,
  because the answer region is decoded whatever the reasoning holds (an autoregressive model
  would never reach its answer past a stop; ours always has one).

Log-likelihood requests are refused (`TieLoglikelihoodError`): see its docstring.
Our traces (`traces/steps.parquet`, `rounds.parquet`, `candidates.parquet`) and one
`predictions.jsonl` row per request go to `traces_dir` (model arg); `tie-lm-eval` sets it and
moves the folder beside lm-eval's samples when lm-eval has written them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from tie.runs.errors import RunConfigError
from tie.tasks.base import CanvasBudget

log = logging.getLogger(__name__)

DEFAULT_ANSWER_SUFFIX = "The answer is"
DEFAULT_ANSWER_LEN = 16
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's own default for generate_until (HFLM.max_gen_toks)
GEN_KWARGS = ("until", "max_gen_toks", "do_sample", "temperature")
# keys of the `tie` model itself; every other model arg is a tie-run override (key=value)
OWN_ARGS = ("models", "method", "answer_suffix", "answer_len", "reasoning_len", "traces_dir")
TRACES_ENV = "TIE_LMEVAL_TRACES_DIR"  # set by tie-lm-eval for the staging folder


class TieLoglikelihoodError(NotImplementedError):
    """`tie` scores no log-likelihood: a masked diffusion LM has no left-to-right factorisation,
    so the log-probability of a continuation lm-eval asks for is not one forward pass (LLaDA's and
    Dream's own harness scripts estimate a Monte-Carlo ELBO instead), and TIE ensembles decoding
    trajectories, not scores. Generation tasks (`output_type: generate_until`) are supported."""

    def __init__(self, kind: str):
        super().__init__(
            f"tie: {kind} requests are not supported: a masked diffusion LM has no left-to-right "
            "factorisation, so a continuation's log-likelihood is not one forward pass (the "
            "authors' lm-eval scripts estimate a Monte-Carlo ELBO), and TIE ensembles decoding "
            "trajectories, not scores; use a generative task (output_type: generate_until, e.g. "
            "gsm8k or mmlu_generative)"
        )


def _override(key: str, value: Any) -> str:
    """A Hydra override from one model arg (lm-eval has already turned '8' into 8)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return f"{key}={text}"


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t")


def compose_config(models: list[str], method: str, overrides: list[str], output_dir: Path) -> Any:
    """tie-run's config for these constituents and this one method (`tie.runs.compose`: the
    schema refuses an unknown key in one line, as on tie-run's command line)."""
    from tie.runs.compose import compose_run

    quoted = ",".join("'" + m.replace("'", "\\'") + "'" for m in models)
    base = [f"models=[{quoted}]", f"ensemble.methods=['{method}']", "logger=none"]
    try:
        return compose_run(base + overrides, output_dir=output_dir)
    except RunConfigError as exc:
        raise RunConfigError(f"tie model_args: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class CanvasTask:
    """The task object `run_method` reads, for lm-eval requests: canvas lengths and the suffix.

    Grading belongs to lm-eval, so `score` extracts the stripped answer text (what `vote` counts)
    and grades nothing (`correct` is null in candidates.parquet)."""

    answer_suffix: str
    budget: CanvasBudget
    name: str = "lm_eval"

    def build_prompt(self, row: dict[str, Any]) -> str:
        return row["prompt"]

    def score(self, answer_text: str, row: dict[str, Any]) -> tuple[str | None, bool | None]:
        return (answer_text.strip() or None), None


def cut_at_stops(text: str, until: list[str]) -> str:
    """`text` up to the first occurrence of any stop string (lm-eval's `until`)."""
    cut = len(text)
    for stop in until:
        if stop:
            i = text.find(stop)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def _traces_dir(traces_dir: str | None) -> Path | None:
    traces_dir = traces_dir or os.environ.get(TRACES_ENV)
    return Path(traces_dir) if traces_dir else None


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunConfigError(f"tie model_args: {name} must be an integer >= 1, got {value!r}")
    return value


def check_model_args(args: dict[str, Any]) -> None:
    """The `tie` model's args (as lm-eval passes them) through every check of `TieLM` that loads
    nothing: `plan_model_args`, without the args only the loaded model reads."""
    unplanned = ("answer_suffix", "batch_size", "max_batch_size", "device")
    plan_model_args(**{k: v for k, v in args.items() if k not in unplanned})


def plan_model_args(
    models: str | list[str] | None = None,
    method: str | None = None,
    answer_len: Any = DEFAULT_ANSWER_LEN,
    reasoning_len: Any = None,
    traces_dir: str | None = None,
    **overrides: Any,
) -> tuple[list[str], list[str], Any, Any]:
    """(model entries, tie-run overrides, composed config, run plan) of the `tie` model's args,
    every check that needs no model and no heavy import: `tie-lm-eval` runs it on the command
    line's model args before lm-eval loads its tasks, `TieLM` before loading the constituents."""
    from tie.runs.plan import build_plan

    if not models:
        raise RunConfigError("tie model_args need models=<a>|<b>|... (tie-run model names)")
    if not method:
        raise RunConfigError("tie model_args need method=<one method>, e.g. method=tie:tcc")
    names = models if isinstance(models, list) else str(models).split("|")
    entries = [n.strip() for n in names if n.strip()]
    _positive("answer_len", answer_len)
    if reasoning_len is not None:
        _positive("reasoning_len", reasoning_len)
    lines = [_override(k, v) for k, v in overrides.items()]
    cfg = compose_config(entries, str(method), lines, _traces_dir(traces_dir) or Path.cwd())
    plan = build_plan(cfg)  # unknown model / method / option: one clear error, nothing loaded
    if len(plan.methods) != 1:
        raise RunConfigError(
            f"tie model_args: method={method!r} names {len(plan.methods)} methods "
            f"{plan.methods}; lm-eval scores one model, so name one (e.g. single:<m>)"
        )
    if plan.methods[0] == "oracle":
        raise RunConfigError(
            "tie model_args: method=oracle needs each request's gold answer, which lm-eval "
            "keeps from the model; use it with tie-run"
        )
    if plan.fits_calibration:
        raise RunConfigError(
            "tie model_args: ensemble.options.calibration=fit needs a held-out split of a "
            "tie-run task; pass fitted temperatures instead (ensemble.options.calibration=...)"
        )
    return entries, lines, cfg, plan


@register_model("tie")
class TieLM(LM):
    """Any method of this workspace over any constituents, as one lm-eval model."""

    def __init__(
        self,
        models: str | list[str] | None = None,
        method: str | None = None,
        answer_suffix: str = DEFAULT_ANSWER_SUFFIX,
        answer_len: int = DEFAULT_ANSWER_LEN,
        reasoning_len: int | None = None,
        traces_dir: str | None = None,
        batch_size: int | str | None = None,
        max_batch_size: int | None = None,
        device: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__()
        from tie.runs.api import load_api

        self.model_entries, self.overrides, cfg, plan = plan_model_args(
            models, method, answer_len, reasoning_len, traces_dir, **overrides
        )
        self.answer_suffix = _unescape(str(answer_suffix))
        self.answer_len, self.reasoning_len = answer_len, reasoning_len
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.out_dir = _traces_dir(traces_dir)
        self.method = plan.methods[0]
        self.api = load_api(str(cfg.api))
        for m in plan.methods:
            self.api.make_options(plan.method_options(m))
        self.api.make_decode_config(dict(plan.decode))
        dev = _device(device)
        plan = dataclasses.replace(
            plan, models=[dataclasses.replace(s, device=s.device or dev) for s in plan.models]
        )
        self.plan, self.cfg = plan, cfg
        self.batch_size = _batch_size(batch_size, int(cfg.data.batch_size))
        self.trace_steps = bool(plan.options.get("trace_steps", True))
        traces = self.out_dir / "traces" if self.out_dir and cfg.tracing.enabled else None
        from tie.lit.module import EnsemblePredictModule  # Lightning: after every check

        self.module = EnsemblePredictModule(plan, self.api, task=None, traces_dir=traces)
        self.module.setup("predict")  # loads every constituent on its device
        self._chunks = 0
        self._records: list[dict[str, Any]] = []
        if self.out_dir is None:
            log.warning("tie: no traces_dir (model arg) and not run by tie-lm-eval: no traces")

    # --- lm-eval's LM interface -------------------------------------------------------------
    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise TieLoglikelihoodError("loglikelihood (multiple_choice / loglikelihood tasks)")

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise TieLoglikelihoodError("loglikelihood_rolling (perplexity tasks)")

    def apply_chat_template(self, chat_history: list[dict[str, str]], **kwargs: Any) -> str:
        raise RunConfigError(
            "tie: drop --apply_chat_template: each constituent wraps the context in its own "
            "family's chat template (members of different families cannot share one)"
        )

    def get_model_info(self) -> dict[str, Any]:
        """Recorded in lm-eval's results json (`config`): what ran, and where our traces are."""
        return {
            "tie": {
                "run_id": self.run_id,
                "models": [s.name for s in self.plan.models],
                "method": self.method,
                "overrides": self.overrides,
                "answer_suffix": self.answer_suffix,
                "answer_len": self.answer_len,
                "reasoning_len": self.reasoning_len,
                "traces_dir": str(self.out_dir) if self.out_dir else None,
            }
        }

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        """Decode every request with the method; returns the continuations in request order."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        seen: dict[str, int] = {}
        rows: list[dict[str, Any]] = []
        for i, req in enumerate(requests):
            context, gen_kwargs = req.args[0], dict(req.args[1] or {})
            until, r_len = self._canvas_settings(gen_kwargs)
            base = f"{getattr(req, 'task_name', None) or 'task'}/{getattr(req, 'doc_id', i)}"
            k = seen[base] = seen.get(base, -1) + 1  # repeats / several requests per doc
            rows.append(
                {"id": base if k == 0 else f"{base}#{k}", "prompt": context, "_index": i,
                 "task": getattr(req, "task_name", None), "doc_id": getattr(req, "doc_id", None)}
            )  # fmt: skip
            groups.setdefault((r_len, tuple(until)), []).append(i)
        results: list[str | None] = [None] * len(requests)
        for (r_len, until), idx in groups.items():
            task = CanvasTask(self.answer_suffix, CanvasBudget(r_len, self.answer_len))
            for start in range(0, len(idx), self.batch_size):
                batch = [rows[i] for i in idx[start : start + self.batch_size]]
                for row, text in zip(batch, self._run_chunk(task, batch, list(until))):
                    results[row["_index"]] = text
        self._finish()
        return [r if r is not None else "" for r in results]

    # --- helpers ----------------------------------------------------------------------------
    def _canvas_settings(self, gen_kwargs: dict[str, Any]) -> tuple[list[str], int]:
        """(until, reasoning_len) of one request; refuses settings the canvas cannot honour."""
        unknown = sorted(set(gen_kwargs) - set(GEN_KWARGS))
        if unknown:
            raise RunConfigError(
                f"tie: generation kwargs {unknown} are not supported (known: {list(GEN_KWARGS)}); "
                "decoding options go in model_args (e.g. decoding.temperature=0.5)"
            )
        samples = gen_kwargs.get("do_sample") or float(gen_kwargs.get("temperature") or 0.0) > 0
        if samples and float(self.plan.decode.get("temperature") or 0.0) == 0.0:
            raise RunConfigError(
                "tie: the task asks for sampling (do_sample / temperature > 0) but the "
                "decoding is greedy; set decoding.temperature=<t> in model_args"
            )
        until = gen_kwargs.get("until") or []
        until = [until] if isinstance(until, str) else [str(u) for u in until]
        if self.reasoning_len is not None:
            return until, self.reasoning_len
        max_gen = int(gen_kwargs.get("max_gen_toks") or DEFAULT_MAX_GEN_TOKS)
        if max_gen <= self.answer_len:
            raise RunConfigError(
                f"tie: max_gen_toks={max_gen} leaves no reasoning region after answer_len="
                f"{self.answer_len}; lower answer_len or set reasoning_len in model_args"
            )
        return until, max_gen - self.answer_len

    def _run_chunk(self, task: CanvasTask, rows: list[dict[str, Any]], until: list[str]) -> list:
        tracer = None
        if self.module.traces_dir is not None and self.api.make_tracer is not None:
            tracer = self.api.make_tracer(
                self.module.traces_dir, rank=self._chunks + 1, steps=self.trace_steps
            )
        self._chunks += 1
        t0 = time.perf_counter()
        try:
            outs = self.api.run_method(
                self.method,
                self.module.constituents,
                [r["prompt"] for r in rows],
                task,
                self.module.options[self.method],
                tracer=tracer,
                rows=rows,
            )
        finally:
            if tracer is not None:
                tracer.close()
        elapsed = time.perf_counter() - t0
        texts = []
        for row, out in zip(rows, outs, strict=True):
            reasoning = cut_at_stops(out.reasoning or "", until)
            answer = cut_at_stops(out.prediction or "", until)
            text = f"{reasoning}{task.answer_suffix}{answer}"
            texts.append(text)
            wall = getattr(out, "wall_s", None)
            self._records.append(
                {
                    "id": row["id"],
                    "task": row["task"],
                    "doc_id": row["doc_id"],
                    "method": self.method,
                    "continuation": text,
                    "prediction": out.prediction,
                    "reasoning": out.reasoning,
                    "selected_model": out.selected_model,
                    "nfe": int(out.nfe or 0),
                    "wall_s": float(wall if wall is not None else elapsed / len(rows)),
                    "leaders": list(out.leaders or []),
                    "budget_exit": bool((out.extra or {}).get("budget_exit")),
                    "reasoning_len": task.budget.reasoning_len,
                    "answer_len": task.budget.answer_len,
                    "until": until,
                }
            )
        return texts

    def _finish(self) -> None:
        """Merge this call's trace parts and (re)write predictions.jsonl and tie.json."""
        if self.out_dir is None:
            return
        from tie.runs.store import atomic_write_json, atomic_write_text

        traces = self.module.traces_dir
        if traces is not None and self.api.merge_traces is not None and Path(traces).exists():
            self.api.merge_traces(traces)
        text = "".join(json.dumps(r, default=str) + "\n" for r in self._records)
        atomic_write_text(self.out_dir / "predictions.jsonl", text)
        atomic_write_json(self.out_dir / "tie.json", self.get_model_info()["tie"])


def _device(requested: str | None) -> str:
    """lm-eval's --device (its default is cuda); CPU when no GPU is there, as lm-eval's HF model
    does, so the default command line also runs on a CPU machine."""
    import torch

    if requested and (not str(requested).startswith("cuda") or torch.cuda.is_available()):
        return str(requested)
    if requested:
        log.warning("tie: --device %s is not available here; using cpu", requested)
    return "cuda" if torch.cuda.is_available() else "cpu"


def _batch_size(value: Any, default: int) -> int:
    """lm-eval's --batch_size ("1", 4, "auto"): an integer, or tie-run's data.batch_size."""
    if value is None or (isinstance(value, str) and value.startswith("auto")):
        return default
    size = int(value)
    if size < 1:
        raise RunConfigError(f"tie: batch_size must be >= 1, got {value!r}")
    return size
