"""The run config's schema: the one place that refuses unknown keys and bad values.

Each config section is checked against what builds its object, read by introspection, so a field
added, renamed or regrouped in a class is followed here without an edit:

* `decoding` -> `DecodeConfig`, `ensemble.options` / `ensemble.per_method.<m>` ->
  `EnsembleOptions` (nested dataclass fields such as `gating` too): the dataclass fields are the
  valid keys; `Literal[...]` annotations, then the class's own checks, are the valid values;
* `task.options` -> the registered task class: the keywords of its `__init__` chain;
* `model` / `model_overrides.<m>` / `conf/model/*.yaml` -> the keys `tie.runs.plan` reads;
* plain sections with no class (run-level keys, `data`, `ensemble`) -> the keys `conf/run.yaml`
  and `conf/ensemble/default.yaml` declare.

Every path goes through here (`tie-run` before Lightning or torch is imported, `build_plan`,
`tie-lm-eval`'s model args, the compose API) and refuses with the same line, e.g.
`unknown key ensemble.options.tie_tolerence (did you mean tie_tolerance?); valid keys: [...]`.
Nothing here imports torch or Lightning: the classes' modules and the rule registries are light
(`tie.decoding` and `tie.ensemble` export lazily; the registries read rule names from source), so a
misspelt key or a bad value is refused in well under a second.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from omegaconf import DictConfig, OmegaConf

from tie.decoding.config import DecodeConfig
from tie.ensemble.options import AVG_RULES, EnsembleOptions, field_choices
from tie.runs.errors import RunConfigError
from tie.runs.paths import CONF_DIR

# keys a section holds for other readers, not passed to its class
DECODING_CONFIG_ONLY = ("name", "gen_length")  # the option's name; decode mode's plain length
# the keys tie.runs.plan reads from a conf/model file, `model` or `model_overrides.<m>`
MODEL_KEYS = ("name", "path", "family", "backend", "dtype", "device")


# --- introspection --------------------------------------------------------------------------------


def valid_keys(target: Any) -> list[str]:
    """The keys that build `target`: its dataclass fields, or its `__init__` keywords (followed up
    the class chain while a level passes `**kwargs` on)."""
    if dataclasses.is_dataclass(target):
        return [f.name for f in dataclasses.fields(target) if f.init]
    keys: list[str] = []
    for cls in target.__mro__ if isinstance(target, type) else [target]:
        init = cls.__init__ if isinstance(cls, type) else cls
        if init is object.__init__:
            break
        params = inspect.signature(init).parameters.values()
        keys += [
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        ]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return list(dict.fromkeys(keys))


def _hints(cls: Any) -> dict[str, Any]:
    """Evaluated annotations of a class ({} for anything else)."""
    if not isinstance(cls, type):
        return {}
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation this Python cannot evaluate: no type-driven checks
        return {}


def _members(hint: Any) -> list[Any]:
    """The alternatives of a Union / Optional annotation (the annotation itself otherwise)."""
    return list(typing.get_args(hint)) if _is_union(hint) else [hint]


def _is_union(hint: Any) -> bool:
    import types

    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _literal_values(hint: Any) -> list[Any] | None:
    """The allowed values of a `Literal[...]` annotation (with `| None`: None too), else None."""
    values: list[Any] = []
    for member in _members(hint):
        if typing.get_origin(member) is typing.Literal:
            values += list(typing.get_args(member))
        elif member is type(None):
            values.append(None)
        else:
            return None
    return values or None


def allowed_values(target: Any, key: str) -> list[Any] | None:
    """The valid values of field `key` of `target`, known without building it: a `Literal[...]`
    annotation's, or the field's `choices` metadata (`tie.ensemble.options.field_choices`: fixed
    tuples, or a registry's names); None when any value of its type may do."""
    if dataclasses.is_dataclass(target) and key in field_choices(target):
        return field_choices(target)[key]
    return _literal_values(_hints(target).get(key))


def _nested_dataclass(hint: Any) -> type | None:
    for member in _members(hint):
        if dataclasses.is_dataclass(member) and isinstance(member, type):
            return member
    return None


# --- the one refusal ------------------------------------------------------------------------------


def refuse_unknown(path: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """One line naming the first unknown key (full dotted path) and the valid keys."""
    valid = sorted(valid)
    unknown = sorted(set(given) - set(valid))
    if not unknown:
        return
    key = unknown[0]
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    more = f" (also unknown: {', '.join(unknown[1:])})" if unknown[1:] else ""
    where = f"{path}{key}" if path.endswith(":") else f"{path}.{key}" if path else key
    of = f" of {path.rstrip(':')}" if path else ""
    raise RunConfigError(f"unknown key {where}{hint}{more}; valid keys{of}: {valid}")


def check_section(path: str, values: Mapping[str, Any], target: Any, extra: Iterable[str] = ()):
    """Keys of `values` against `target`'s (plus `extra`), recursing into nested dataclass fields,
    and values with a fixed set (`allowed_values`); raises RunConfigError naming the dotted key."""
    refuse_unknown(path, values, [*valid_keys(target), *extra])
    hints = _hints(target)
    for key, value in values.items():
        allowed = allowed_values(target, key)
        if allowed is not None and value not in allowed:
            raise RunConfigError(f"bad value {path}.{key}={value!r}; valid values: {allowed}")
        nested = _nested_dataclass(hints.get(key))
        if nested is not None and isinstance(value, Mapping):
            check_section(f"{path}.{key}", value, nested)


def build(target: Any, values: Mapping[str, Any], path: str) -> Any:
    """`target(**values)` after `check_section`; the class's own ValueError/TypeError (its valid
    values) comes back as one line naming the dotted key when the message names a field."""
    check_section(path, values, target)
    try:
        return target(**values)
    except (TypeError, ValueError) as exc:
        raise RunConfigError(_name_key(path, values, str(exc))) from exc


def _name_key(path: str, values: Mapping[str, Any], message: str) -> str:
    """The class's message, prefixed with the key it names first (`unknown policy 'x'; choose one
    of (... 'threshold' ...)` is about `policy`)."""
    message = " ".join(message.split())  # one line
    found = []
    for key in values:
        hit = re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", message)
        if hit:
            found.append((hit.start(), -len(key), key))
    if not found:
        return f"bad {path}: {message}"
    key = min(found)[2]
    if isinstance(values[key], Mapping):  # a nested group: the field in it the message names
        inner = _name_key(f"{path}.{key}", values[key], message)
        if inner.startswith("bad value "):
            return inner
    return f"bad value {path}.{key}={values[key]!r}: {message}"


# --- sections of a composed run config ------------------------------------------------------------


@cache
def _yaml_keys(relative: str, section: str | None = None) -> tuple[str, ...]:
    node = OmegaConf.load(CONF_DIR / relative)
    if section is not None:
        node = node.get(section) or {}
    return tuple(str(k) for k in node if k != "defaults")


@cache
def run_level_keys() -> tuple[str, ...]:
    """Top-level keys: those `conf/run.yaml` declares, its defaults groups, and `hydra`."""
    node = OmegaConf.load(CONF_DIR / "run.yaml")
    groups = []
    for entry in node.get("defaults") or []:
        name = next(iter(entry)) if isinstance(entry, Mapping) else str(entry)
        if name != "_self_":
            groups.append(str(name).split()[-1].split("@")[0])
    return tuple(dict.fromkeys([*_yaml_keys("run.yaml"), *groups, "hydra"]))


@cache
def plain_sections() -> tuple[str, ...]:
    """Sections of `conf/run.yaml` with fixed keys and no class (`data`, `tracing`, ...)."""
    node = OmegaConf.load(CONF_DIR / "run.yaml")
    return tuple(str(k) for k, v in node.items() if OmegaConf.is_dict(v) and len(v) > 0)


def ensemble_keys() -> tuple[str, ...]:
    from tie.runs.plan import CALIBRATION_DATA_KEY

    return (*_yaml_keys("ensemble/default.yaml"), CALIBRATION_DATA_KEY)


def _container(node: Any) -> dict[str, Any]:
    if node is None:
        return {}
    if OmegaConf.is_config(node):
        return dict(OmegaConf.to_container(node, resolve=True))
    return dict(node)


def task_target(name: str) -> Any:
    """The class registered for task `name` (its `__init__` keywords are the valid options)."""
    from tie.tasks import task_class  # light: task modules import datasets where rows are built

    try:
        return task_class(name)
    except KeyError as exc:
        raise RunConfigError(str(exc.args[0]) if exc.args else str(exc)) from exc


def ensemble_option_values(cfg: DictConfig) -> dict[str, Any]:
    """`ensemble.options` with `ensemble.interval`: what every method's options start from."""
    ens = cfg.get("ensemble") or {}
    return {"interval": ens.get("interval", 16), **_container(ens.get("options"))}


def check_interval(path: str, value: Any) -> None:
    """`<path>.interval`: the relay interval n, checked by its one owner (`EnsembleOptions`)
    wherever it is set (`ensemble.interval`, `ensemble.options.interval`, per method); it depends
    on no other option, so it is judged alone, on the command line too."""
    build(EnsembleOptions, {"interval": value}, path)


def check_run_config(cfg: DictConfig) -> None:
    """Refuse an unknown key or a `Literal` value anywhere in a composed run config (keys of every
    section; values of the classes are built by `build_plan` / decode mode through `build`)."""
    refuse_unknown("", cfg.keys(), run_level_keys())
    for section in plain_sections():  # data, tracing, stats, injection
        if OmegaConf.is_dict(cfg.get(section)):
            refuse_unknown(section, cfg[section].keys(), _yaml_keys("run.yaml", section))
    if cfg.get("decoding") is not None:
        decode = _container(cfg.decoding)
        check_section("decoding", decode, DecodeConfig, DECODING_CONFIG_ONLY)
    ens = cfg.get("ensemble")
    if ens is not None:
        refuse_unknown("ensemble", ens.keys(), ensemble_keys())
        if "interval" in ens:
            check_interval("ensemble", ens.interval)
        check_section("ensemble.options", _container(ens.get("options")), EnsembleOptions)
        for method, extra in _container(ens.get("per_method")).items():
            check_section(f"ensemble.per_method.{method}", dict(extra or {}), EnsembleOptions)
    task = cfg.get("task")
    if task is not None and task.get("name") is not None:
        options = {k: v for k, v in _container(task.get("options")).items() if v is not None}
        check_section("task.options", options, task_target(str(task.name)))
    if cfg.get("model") is not None:  # the `model` group (decode mode's model)
        refuse_unknown("model", cfg.model.keys(), MODEL_KEYS)
    for name, extra in _container(cfg.get("model_overrides")).items():
        refuse_unknown(f"model_overrides.{name}", dict(extra or {}), MODEL_KEYS)


# --- method names ---------------------------------------------------------------------------------


def check_scorings(scoring: Any) -> list[str]:
    """`ensemble.scoring` (one name or a list) against the scoring registry; the list."""
    from tie.ensemble.registry import SCORINGS

    scorings = [scoring] if isinstance(scoring, str) else list(scoring or [])
    for s in scorings:
        if s not in SCORINGS:
            raise RunConfigError(f"unknown ensemble.scoring {s!r}; valid: {SCORINGS.names()}")
    return scorings


def check_method(method: Any) -> tuple[str, str]:
    """One `ensemble.methods` entry against the method and scoring registries: (kind, argument).
    Whether `single:<m>` names a constituent is the plan's check (it needs the models)."""
    from tie.ensemble.registry import METHODS, SCORINGS

    m = str(method)
    kind, _, arg = m.partition(":")
    if kind not in METHODS:
        raise RunConfigError(f"unknown method {m!r}; valid kinds: {METHODS.names()}")
    if kind == "tie" and arg and arg not in SCORINGS:
        raise RunConfigError(f"unknown TIE scoring in {m!r}; valid: {SCORINGS.names()}")
    if kind == "avg" and arg and arg not in AVG_RULES:
        raise RunConfigError(f"unknown avg rule in {m!r}; valid: {list(AVG_RULES)}")
    if kind not in ("single", "tie", "avg") and arg:
        raise RunConfigError(f"method {m!r}: {kind!r} takes no argument")
    return kind, arg


# --- overrides checked before Hydra composes ------------------------------------------------------


def _static_keys(path: str) -> list[str] | None:
    """Valid keys of a section known without composing; None when they depend on the
    composition (task.options: the task chosen) or the section is not ours (hydra, trainer ...)."""
    if path == "":
        return list(run_level_keys())
    if path in plain_sections():
        return list(_yaml_keys("run.yaml", path))
    if path == "ensemble":
        return list(ensemble_keys())
    if path == "model" or re.fullmatch(r"model_overrides\.[^.]+", path):
        return list(MODEL_KEYS)
    if path == "decoding":
        return [*valid_keys(DecodeConfig), *DECODING_CONFIG_ONLY]
    target = _static_target(path)
    return None if target is None else valid_keys(target)


def _static_target(path: str) -> Any:
    """The dataclass of a section known without composing (nested fields such as
    `ensemble.options.gating` too), else None."""
    if path == "decoding":
        return DecodeConfig
    head = re.fullmatch(r"(ensemble\.options|ensemble\.per_method\.[^.]+)((?:\.[^.]+)*)", path)
    if head is None:
        return None
    target: Any = EnsembleOptions
    for field in head.group(2).split(".")[1:]:  # nested dataclass fields (gating)
        target = _nested_dataclass(_hints(target).get(field))
        if target is None:
            return None
    return target


def check_overrides(overrides: Iterable[str]) -> None:
    """Refuse an override of an unknown key or a bad value before Hydra composes (Hydra's own
    refusal of a plain `decoding.blok_length=8` is several lines and names no valid key). `+key`
    additions are checked too, and every point of a choice or range sweep (`ensemble.interval=8,0`
    is refused before the first job runs); anything this cannot judge statically is left to
    `check_run_config`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    for line in overrides:
        if line.startswith("-") or "=" not in line:
            continue  # flags (--multirun, -m, --cfg ...)
        try:
            (override,) = parser.parse_overrides([line])
        except HydraException:
            continue  # Hydra reports its own syntax errors
        if override.is_delete() or override.package is not None:
            continue
        key = override.key_or_group
        if key == "hydra" or key.startswith(("hydra.", "hydra/")) or "/" in key:
            continue  # Hydra's own settings, or a nested group choice (hydra/launcher=...)
        path, _, leaf = key.rpartition(".")
        static = _static_keys(path)
        if static is not None:
            refuse_unknown(path, [leaf], static)
        if override.is_choice_sweep() or override.is_range_sweep():
            values = list(override.sweep_iterator())
        elif override.is_sweep_override():
            continue  # an interval sweep: each job's config is checked
        else:
            values = [override.value()]
        for value in values:
            _check_value(key, value)


def _check_value(key: str, value: Any) -> None:
    """One overridden value, where its valid values are known without composing."""
    if key == "ensemble.methods" and isinstance(value, list):
        for method in value:
            check_method(method)
    if key == "ensemble.scoring" and isinstance(value, (str, list)):
        check_scorings(value)
    path, _, leaf = key.rpartition(".")
    if not isinstance(value, (str, int, float, bool)) or "${" in str(value):
        return  # a list, a dict or an interpolation: judged once composed
    if leaf == "interval" and (path == "ensemble" or _static_target(path) is EnsembleOptions):
        check_interval(path, value)
    allowed = allowed_values(_static_target(path), leaf)
    if allowed is not None and value not in allowed:
        raise RunConfigError(f"bad value {key}={value!r}; valid values: {allowed}")
