"""Turn a composed config into a validated run plan, before any model is loaded.

Constituents are listed by name in `models`; each name resolves through `conf/model/<name>.yaml`
(so one file per model is the single source of its path/family/dtype), or is `zoo:<member>` or a
checkpoint directory. Methods are expanded here (`single` -> one per constituent, `tie` -> one per
scoring) so every later stage sees the final list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from tie.decoding.config import DecodeConfig
from tie.ensemble.options import AVG_RULES, EnsembleOptions
from tie.runs.errors import RunConfigError
from tie.runs.paths import CONF_DIR
from tie.runs.schema import (
    DECODING_CONFIG_ONLY,
    MODEL_KEYS,
    build,
    check_method,
    check_run_config,
    check_scorings,
    ensemble_option_values,
    refuse_unknown,
)

CALIBRATION_FIT = "fit"
CALIBRATION_DATA_KEY = "calibration_data"
# ensemble.calibration_data defaults (used with ensemble.options.calibration=fit)
CALIBRATION_DEFAULTS = {"task_options": {"split": "dev"}, "limit": 64, "bounds": [0.05, 20.0]}


@dataclass(frozen=True)
class ModelSpec:
    """One constituent: what `load_backend` gets, and where it goes."""

    name: str
    spec: Any  # str ("zoo:<m>" or a dir) or dict(path, family, backend)
    dtype: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class RunPlan:
    models: list[ModelSpec]
    methods: list[str]
    options: dict[str, Any]
    decode: dict[str, Any]
    task_name: str
    task_options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    batch_size: int = 1
    placement: str = "shared"
    devices: list[str] = field(default_factory=list)
    per_method: dict[str, dict[str, Any]] = field(default_factory=dict)
    # mode=inject: the injection study's ratios, run for every ordered pair of constituents
    injection_ratios: list[float] = field(default_factory=list)
    # ensemble.options.calibration=fit: the held-out set the temperatures are fitted on
    # ({task_options, limit, bounds}); {} otherwise
    calibration_data: dict[str, Any] = field(default_factory=dict)

    @property
    def fits_calibration(self) -> bool:
        return bool(self.calibration_data)

    @property
    def injection_directions(self) -> list[tuple[str, str]]:
        """(source, target) for every ordered pair of constituents (A->B and B->A)."""
        if not self.injection_ratios:
            return []
        names = [m.name for m in self.models]
        return [(a, b) for a in names for b in names if a != b]

    def method_options(
        self, method: str, calibration: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """Base options with this method's `ensemble.per_method` overrides (e.g. tcc at n=32),
        merged deeply as Hydra merges configs: `experimental.tie_tolerance` for one method keeps
        the run's other `experimental` options.

        With calibration=fit the `calibration` entry is the fitted {model: T} (None before)."""
        out = deep_merge(self.options, self.per_method.get(method, {}))
        if out.get("calibration") == CALIBRATION_FIT:
            out["calibration"] = calibration
        return out

    def interval(self, method: str) -> int:
        return int(self.method_options(method)["interval"])


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `over`'s entries; where both hold a mapping (an option group such as
    `experimental`), the mappings are merged, key by key, the same way."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _container(node: Any) -> dict[str, Any]:
    """A plain dict from an optional config node (None or empty -> {})."""
    if node is None:
        return {}
    return (
        dict(OmegaConf.to_container(node, resolve=True))
        if OmegaConf.is_config(node)
        else dict(node)
    )


def available_models() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))


def _model_file_spec(node: DictConfig, name: str) -> ModelSpec:
    path = str(node.path)
    spec: Any = (
        path
        if path.startswith("zoo:")
        else {
            "path": path,
            "family": node.get("family"),
            "backend": node.get("backend", "native"),
        }
    )
    return ModelSpec(name=name, spec=spec, dtype=node.get("dtype"), device=node.get("device"))


def model_spec_from_node(node: DictConfig) -> ModelSpec:
    """A spec from a `model` group node (decode mode; `model.path=...` overrides the path)."""
    if node is None or node.get("path") is None:
        raise RunConfigError(
            f"no model selected: use model=<one of {available_models()}> or model.path=<dir>"
        )
    return _model_file_spec(node, str(node.get("name") or node.path))


def resolve_model(entry: str, cfg: DictConfig) -> ModelSpec:
    """Resolve one `models` entry (model file name, zoo:<m>, or checkpoint dir)."""
    overrides = (cfg.get("model_overrides") or {}).get(entry) or {}
    file = CONF_DIR / "model" / f"{entry}.yaml"
    if file.exists():
        node = OmegaConf.load(file)
        refuse_unknown(f"conf/model/{entry}.yaml:", node.keys(), MODEL_KEYS)
        if overrides:
            node = OmegaConf.merge(node, overrides)
        # resolve ${paths.*} interpolations of the file against this run's paths
        root = OmegaConf.create({"paths": OmegaConf.to_container(cfg.paths), "m": node})
        node = root.m
        return _model_file_spec(node, entry)
    if entry.startswith("zoo:"):
        return ModelSpec(
            entry.removeprefix("zoo:"), entry, overrides.get("dtype"), overrides.get("device")
        )
    if Path(entry).is_dir():
        return ModelSpec(Path(entry).name, entry, overrides.get("dtype"), overrides.get("device"))
    # owner/name[@rev]: the snapshot in the Hugging Face cache, checked now
    from tie.hub import HubCacheError, hub_model_name, is_hub_id, resolve_hub_id

    if is_hub_id(entry):
        try:
            path = resolve_hub_id(entry)
        except HubCacheError as exc:
            raise RunConfigError(str(exc)) from exc
        spec = {"path": str(path), "name": entry, "family": overrides.get("family")}
        spec["backend"] = overrides.get("backend", "native")
        name = hub_model_name(entry)
        return ModelSpec(name, spec, overrides.get("dtype"), overrides.get("device"))
    raise RunConfigError(
        f"unknown model {entry!r} in models: valid names are {available_models()}, "
        "'zoo:<member>', or an existing checkpoint directory"
    )


def expand_methods(methods: list[str], scoring: Any, model_names: list[str]) -> list[str]:
    """`single` -> single:<m> per constituent; `tie` -> tie:<s> per scoring; `avg` -> avg:mean and
    avg:product; `vote`, `oracle` as is (issue 9 baselines); checked, deduped."""
    scorings = check_scorings(scoring)
    out: list[str] = []
    for m in methods:
        kind, arg = check_method(m)
        if kind == "single":
            names = [arg] if arg else model_names
            for n in names:
                if n not in model_names:
                    raise RunConfigError(f"method {m!r}: {n!r} is not a constituent {model_names}")
            out += [f"single:{n}" for n in names]
        elif kind == "tie":
            if not arg and not scorings:
                raise RunConfigError("method 'tie' needs ensemble.scoring (e.g. [tcc, top1])")
            out += [f"tie:{arg}"] if arg else [f"tie:{s}" for s in scorings]
        elif kind == "avg":
            out += [f"avg:{arg}"] if arg else [f"avg:{r}" for r in AVG_RULES]
        else:
            out.append(kind)
    if not out:
        raise RunConfigError("ensemble.methods is empty")
    return list(dict.fromkeys(out))


def calibration_data(cfg: DictConfig, options: dict[str, Any]) -> dict[str, Any]:
    """The held-out set of ensemble.options.calibration=fit (else {}), checked.

    `ensemble.calibration_data.task_options` are merged over the task's options (default
    `{split: dev}`), `limit` = first N problems (default 64), `bounds` = [low, high] of T."""
    cal = options.get("calibration")
    if cal != CALIBRATION_FIT:
        if isinstance(cal, str):
            raise RunConfigError(
                f"ensemble.options.calibration must be null, {{model: T}} or 'fit', got {cal!r}"
            )
        return {}
    given = _container(cfg.ensemble.get(CALIBRATION_DATA_KEY))
    refuse_unknown(f"ensemble.{CALIBRATION_DATA_KEY}", given, CALIBRATION_DEFAULTS)
    out = {**CALIBRATION_DEFAULTS, **given}
    out["task_options"] = dict(out["task_options"] or {})
    limit = out["limit"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise RunConfigError(f"ensemble.calibration_data.limit must be null or >= 1, got {limit!r}")
    bounds = list(out["bounds"])
    if len(bounds) != 2 or not 0 < float(bounds[0]) < float(bounds[1]):
        raise RunConfigError(
            f"ensemble.calibration_data.bounds must be [low, high], 0 < low < high, got {bounds}"
        )
    out["bounds"] = [float(b) for b in bounds]
    return out


def injection_ratios(cfg: DictConfig, n_models: int) -> list[float]:
    """`injection.ratios` of mode=inject (else []): a non-empty list of distinct r in (0, 1)."""
    if cfg.get("mode", "evaluate") != "inject":
        return []
    if n_models < 2:
        raise RunConfigError(f"mode=inject needs at least 2 constituents, got {n_models}")
    ratios = (cfg.get("injection") or {}).get("ratios")
    ratios = [ratios] if isinstance(ratios, (int, float)) else list(ratios or [])
    if not ratios:
        raise RunConfigError("mode=inject needs injection.ratios (e.g. [0.33, 0.5])")
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0.0 < r < 1.0:
            raise RunConfigError(f"injection.ratios must lie strictly in (0, 1), got {r!r}")
    if len(set(ratios)) != len(ratios):
        raise RunConfigError(f"duplicate injection.ratios: {ratios}")
    return [float(r) for r in ratios]


DATA_KEYS = ("data_dir", "data_files")


def default_data_dir(cfg: DictConfig) -> Path | None:
    """`<paths.data_dir>/<task.data_subdir>` (TIE_DATA_DIR), None for tasks without data files."""
    sub = cfg.task.get("data_subdir")
    data_dir = (cfg.get("paths") or {}).get("data_dir")
    if not sub or not data_dir:
        return None
    return Path(str(data_dir)) / str(sub)


def task_options(cfg: DictConfig) -> dict[str, Any]:
    """`task.options`, with the data route: explicit `data_files` / `data_dir` win; else the
    task's folder under `paths.data_dir` when it exists (else the task's own fallback: the hub,
    a bundled copy, or a clear error offline). Null options (the task's default) are not passed."""
    options = {k: v for k, v in _container(cfg.task.get("options")).items() if v is not None}
    default = default_data_dir(cfg)
    if not any(k in options for k in DATA_KEYS) and default is not None and default.is_dir():
        options["data_dir"] = str(default)
    return options


def build_plan(cfg: DictConfig) -> RunPlan:
    """Validate everything that can be checked without loading a model: every key against the
    schema (`tie.runs.schema`), every method's options and the decoding built once as objects."""
    check_run_config(cfg)
    entries = [str(e) for e in (cfg.get("models") or [])]
    if not entries:
        raise RunConfigError("models is empty: list at least one constituent")
    models = [resolve_model(e, cfg) for e in entries]
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise RunConfigError(f"duplicate constituents in models: {names}")
    if cfg.get("placement", "shared") not in ("shared", "per_model"):
        raise RunConfigError(f"placement must be 'shared' or 'per_model', got {cfg.placement!r}")

    ens = cfg.ensemble
    methods = expand_methods(list(ens.methods), ens.get("scoring"), names)
    needs_many = [m for m in methods if not m.startswith("single:")]  # oracle too (engine rule)
    if needs_many and len(models) < 2:
        raise RunConfigError(f"methods {needs_many} need at least 2 constituents, got {names}")
    options = ensemble_option_values(cfg)  # the interval is checked there (EnsembleOptions)
    per_method = {str(k): dict(v) for k, v in _container(ens.get("per_method")).items()}
    stray = sorted(set(per_method) - set(methods))
    if stray:
        raise RunConfigError(
            f"ensemble.per_method keys {stray} are not methods of this run {methods}"
        )
    best = options.get("best_model")
    if best is not None and best not in names:
        raise RunConfigError(f"ensemble.options.best_model={best!r} is not a constituent {names}")

    decode = OmegaConf.to_container(cfg.decoding, resolve=True)
    for key in DECODING_CONFIG_ONLY:
        decode.pop(key, None)
    build(DecodeConfig, decode, "decoding")

    data = cfg.data
    limit = data.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise RunConfigError(f"data.limit must be null or an integer >= 1, got {limit!r}")
    if not isinstance(data.batch_size, int) or data.batch_size < 1:
        raise RunConfigError(f"data.batch_size must be an integer >= 1, got {data.batch_size!r}")
    plan = RunPlan(
        models=models,
        methods=methods,
        options=options,
        decode=decode,
        task_name=str(cfg.task.name),
        task_options=task_options(cfg),
        limit=limit,
        batch_size=int(data.batch_size),
        placement=str(cfg.get("placement", "shared")),
        devices=[str(d) for d in (cfg.get("devices") or [])],
        per_method=per_method,
        injection_ratios=injection_ratios(cfg, len(models)),
        calibration_data=calibration_data(cfg, options),
    )
    for method in plan.methods:  # values: each method's options as the engine will build them
        where = f"ensemble.per_method.{method}" if method in per_method else "ensemble.options"
        build(EnsembleOptions, plan.method_options(method), where)
    return plan


def needs_cross_model_tokenizers(plan: RunPlan) -> bool:
    """Cross-model logit scoring reads every candidate in every model's tokens (every scoring
    but the change count's, which reads each trajectory alone)."""
    from tie.ensemble.registry import SCORINGS

    return bool(plan.options.get("cross_model")) and any(
        not getattr(SCORINGS.get(m.partition(":")[2]), "counts", False)
        for m in plan.methods
        if m.startswith("tie:")
    )


def check_models(plan: RunPlan, api: Any, cfg: DictConfig) -> None:
    """Every constituent exists (zoo member, checkpoint files) before anything is written to the
    run dir, so a typo fails in one line and the same dir can be retried; a missing real
    checkpoint names `TIE_MODELS_DIR`."""
    check = getattr(api, "check_model", None)
    if check is None:
        return
    for m in plan.models:
        try:
            check(m.spec)
        except RunConfigError:
            raise
        except (ValueError, KeyError, OSError) as exc:
            path = m.spec.get("path") if isinstance(m.spec, dict) else m.spec
            if path and not str(path).startswith("zoo:") and not Path(str(path)).exists():
                models_dir = OmegaConf.select(cfg, "paths.models_dir", default=None)
                raise RunConfigError(
                    f"model {m.name!r}: {exc}; real checkpoints are read from paths.models_dir "
                    f"= $TIE_MODELS_DIR (now {models_dir!r}): export TIE_MODELS_DIR=<dir holding "
                    f"{Path(str(path)).name}> or set model_overrides.{m.name}.path=<dir>"
                ) from exc
            raise
