"""The dependency bundle tie-run drives: models, tasks, decoder, ensemble engine, tracing.

Orchestration only reaches the other packages through this object, so tests (and forks) can swap
the whole stack with `api=<module>:<factory>` on the command line, even in DDP child processes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tie.runs.errors import RunConfigError


@dataclass
class Api:
    load_backend: Callable[..., Any]  # (spec, device=, dtype=) -> MDLMBackend
    get_task: Callable[..., Any]  # (name, **options) -> Task
    # (method, constituents, prompts, task, options, tracer=, rows=, share=, members=)
    run_method: Callable[..., list[Any]]
    make_options: Callable[[dict[str, Any]], Any]  # dict -> EnsembleOptions (raises on bad keys)
    make_decode_config: Callable[[dict[str, Any]], Any]  # dict -> DecodeConfig
    make_constituent: Callable[..., Any]  # (name, backend, decode_config) -> Constituent
    generate: Callable[..., Any]  # tie.decoding.generate
    make_tracer: Callable[..., Any] | None = None  # (traces_dir, rank=, steps=) -> tracer
    merge_traces: Callable[[Any], None] | None = None  # fold per-chunk trace files into one
    # (source, target, prompts, task, rows, ratios, options=) -> records (mode=inject)
    run_injection: Callable[..., list[dict[str, Any]]] | None = None
    # (methods, constituents) -> None, raises ValueError: checks needing loaded backends (avg:*)
    check_methods: Callable[[list[str], list[Any]], None] | None = None
    # (constituents, task, rows, bounds=) -> {name: T} (ensemble.options.calibration=fit)
    fit_calibration: Callable[..., dict[str, float]] | None = None
    # (spec) -> tie.models.CheckpointInfo: tokenizer, family, context, every file checked, no
    # weights read; lets tie-run check each canvas before any model loads (tie.runs.canvas)
    inspect_model: Callable[[Any], Any] | None = None
    # (spec) -> None, raises naming the problem: the constituent exists (zoo member, checkpoint
    # files), checked from file listings before the run dir is written
    check_model: Callable[[Any], None] | None = None


def _dataclass_factory(cls: type, path: str | None = None) -> Callable[[dict[str, Any]], Any]:
    """Build `cls(**values)` through the schema (`tie.runs.schema.build`): an unknown key or a
    bad value is one line naming `<path>.<key>` and the valid keys, before any compute."""
    from tie.runs.schema import build

    where = path or cls.__name__

    def make(values: dict[str, Any]) -> Any:
        return build(cls, values, where)

    return make


def quiet_weight_loading() -> None:
    """No per-model "Loading weights" bars from transformers in a run (tie-run logs one line
    per model instead); a no-op when transformers is not loaded."""
    import sys

    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:
        hf_logging.disable_progress_bar()


def check_model_files(spec: Any) -> None:
    """A zoo name or checkpoint directory resolves and holds config, weights and tokenizer files
    (headers are read at load time; this only lists files, so it takes milliseconds)."""
    from tie.models.checkpoint import check_tokenizer_files, read_config, weight_files
    from tie.models.loading import _parse_spec

    path = _parse_spec(spec)[0]
    read_config(path)
    weight_files(path)
    check_tokenizer_files(path)


def default_api() -> Api:
    """The real stack (imported lazily so `tie-run --help` stays fast)."""
    from tie.decoding import DecodeConfig, generate
    from tie.ensemble import Constituent, EnsembleOptions, run_method
    from tie.ensemble.baselines import check_methods
    from tie.ensemble.calibration import fit_calibration
    from tie.ensemble.injection import run_injection
    from tie.models import inspect_checkpoint, load_backend
    from tie.tasks import get_task
    from tie.tracing import make_tracer, merge_ranks

    return Api(
        load_backend=load_backend,
        get_task=get_task,
        run_method=run_method,
        make_options=_dataclass_factory(EnsembleOptions, "ensemble.options"),
        make_decode_config=_dataclass_factory(DecodeConfig, "decoding"),
        make_constituent=Constituent,
        generate=generate,
        make_tracer=make_tracer,
        merge_traces=merge_ranks,
        run_injection=run_injection,
        check_methods=check_methods,
        fit_calibration=fit_calibration,
        inspect_model=inspect_checkpoint,
        check_model=check_model_files,
    )


def load_api(ref: str) -> Api:
    """Resolve `module:factory` to an Api."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise RunConfigError(f"api must look like 'module:factory', got {ref!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise RunConfigError(f"cannot load api {ref!r}: {exc}") from exc
    return factory()
