"""Every config builds its objects in one hop, and the schema refuses what it does not know.

Every config group option and every experiment overlay (at every point of its sweep) composes,
resolves, passes `build_plan`, and builds the run's objects without loading weights: each method's
`EnsembleOptions`, the `DecodeConfig`, the task, the model specs, with every key of a section
landing on the attribute of the same name. A misspelt key in each section and a bad value are
refused with one line naming the dotted key and the valid keys (or values), the same on every
path: the Python API (compose + `build_plan`), `tie-lm-eval`'s model args and the `tie-run`
command line, where the refusal comes before Lightning or torch is imported.

Cost: about 75 compositions (cached and shared with tests/test_paper_experiments.py in one
process), 4 `tie-run` subprocesses (~1-2 s each) and one `TieLM` import (lm-eval, ~5 s).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import pytest
from config_compose import EXPERIMENTS, GROUPS, compose_run, options, sweep_points
from omegaconf import OmegaConf

from tie.runs.errors import RunConfigError
from tie.runs.meta import resolved_config
from tie.runs.plan import build_plan, model_spec_from_node
from tie.runs.schema import DECODING_CONFIG_ONLY, build, check_section, valid_keys

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _weak_sandbox(monkeypatch):
    """Code tasks check the sandbox when built; the machine's sandbox is not what is tested."""
    monkeypatch.setenv("TIE_SANDBOX", "weak")


def build_objects(cfg) -> dict[str, Any]:
    """The run's objects from a composed config, as tie-run builds them (no weights loaded)."""
    from tie.runs.api import default_api

    api = default_api()
    plan = build_plan(cfg)
    return {
        "plan": plan,
        "options": {m: api.make_options(plan.method_options(m)) for m in plan.methods},
        "decode": api.make_decode_config(dict(plan.decode)),
        "task": api.get_task(plan.task_name, **plan.task_options),
        "model": model_spec_from_node(cfg.model),
    }


def _as_plain(value: Any) -> Any:
    """A nested options group (a dataclass) as the dict its YAML section holds."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def assert_one_hop(cfg, objects: dict[str, Any]) -> None:
    """Every key of `decoding` and `ensemble.options` is the built object's attribute."""
    decoding = OmegaConf.to_container(cfg.decoding, resolve=True)
    for key, value in decoding.items():
        if key not in DECODING_CONFIG_ONLY:
            assert getattr(objects["decode"], key) == value, f"decoding.{key}"
    given = OmegaConf.to_container(cfg.ensemble.options, resolve=True)
    for method, opts in objects["options"].items():
        mine = objects["plan"].method_options(method)
        for key, value in given.items():
            if key in ("gating", "calibration") or key in cfg.ensemble.per_method.get(method, {}):
                continue
            assert _as_plain(getattr(opts, key)) == value, f"ensemble.options.{key} ({method})"
        assert opts.interval == mine["interval"]
        if isinstance(given.get("gating"), dict):
            for key, value in given["gating"].items():
                assert getattr(opts.gating, key) == value, f"ensemble.options.gating.{key}"
    assert objects["task"].name == cfg.task.name


def test_every_expected_option_exists():
    assert {"llada-8b-instruct", "llada-1.5", "dream-7b-instruct", "dreamcoder-7b", "diffucoder-7b",
            "llada-a", "dream-b", "llada-c"} <= set(options("model"))  # fmt: skip
    assert set(options("logger")) == {"wandb", "csv", "none"}
    assert {"cpu", "gpu", "ddp_cpu", "ddp"} <= set(options("trainer"))
    assert {"basic", "joblib", "submitit"} <= set(options("launcher"))
    assert {"synth_math", "synth_countdown", "mmlu", "mmlu_star", "arc_c", "winogrande", "gsm8k",
            "math500", "humaneval", "mbpp", "countdown"} <= set(options("task"))  # fmt: skip
    assert len(EXPERIMENTS) >= 12


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_group_option_builds_its_objects(group, option):
    cfg = compose_run([f"{group}={option}"])
    resolved = resolved_config(cfg)
    if group not in ("launcher",):
        assert resolved[group] is not None
    objects = build_objects(cfg)
    assert_one_hop(cfg, objects)
    if group == "model":
        assert objects["model"].name == cfg.model.name


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_builds_its_objects_at_every_sweep_point(experiment):
    points = sweep_points(experiment)
    for point in points:
        cfg = compose_run([f"experiment={experiment}", *point])
        objects = build_objects(cfg)
        assert_one_hop(cfg, objects)
        for override in point:  # the swept value is in the composed config
            key, _, value = override.partition("=")
            node = OmegaConf.select(cfg, key)
            got = node.get("name") if OmegaConf.is_dict(node) else node
            assert str(got).lower() == value.lower(), (experiment, override, got)


def test_default_is_the_testbed_comparison_on_the_zoo_on_cpu():
    cfg = compose_run([])
    plan = build_plan(cfg)
    assert plan.task_name == "synth_math"
    assert [m.name for m in plan.models] == ["llada-a", "dream-b", "llada-c"]
    assert plan.methods == ["single:llada-a", "single:dream-b", "single:llada-c", "post",
                            "tie:tcc", "tie:top1", "tie:entropy", "tie:margin"]  # fmt: skip
    assert cfg.trainer.accelerator == "cpu" and cfg.logger.kind == "wandb"
    assert cfg.logger.mode in ("offline", "disabled", "online")


def test_real_model_paths_come_from_the_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TIE_MODELS_DIR", str(tmp_path))
    plan = build_plan(compose_run(["experiment=main_results_math"]))
    assert plan.models[0].spec["path"] == f"{tmp_path}/LLaDA-1.5"
    assert plan.models[1].spec["family"] == "dream"
    assert plan.per_method == {}
    general = build_plan(compose_run(["experiment=main_results_general"]))
    assert general.interval("tie:tcc") == 32 and general.interval("tie:top1") == 16


def test_unknown_group_option_lists_the_valid_ones():
    with pytest.raises(RunConfigError) as err:
        compose_run(["model=llada-9"])
    assert "llada-1.5" in str(err.value) and "dream-b" in str(err.value)
    assert "\n" not in str(err.value)


# --- the schema's refusals, on every path ---------------------------------------------------------

# (override, the dotted key the line must name, a valid key or value it must list)
BAD = [
    ("+ensemble.options.tie_tolerence=0.1", "ensemble.options.tie_tolerence", "'experimental'"),
    ("+ensemble.options.experimental.tie_tolerence=0.1",
     "ensemble.options.experimental.tie_tolerence", "'tie_tolerance'"),  # fmt: skip
    ("decoding.blok_length=8", "decoding.blok_length", "'block_length'"),
    ("+decoding.blok_length=8", "decoding.blok_length", "'block_length'"),
    ("+task.options.splt=dev", "task.options.splt", "'split'"),
    ("+data.limt=3", "data.limt", "'limit'"),
    ("+tracing.enabld=false", "tracing.enabld", "'enabled'"),
    ("+ensemble.methodz=[post]", "ensemble.methodz", "'methods'"),
    ("+ensemble.options.gating.min_win=3", "ensemble.options.gating.min_win", "'min_win_rate'"),
    ("+model_overrides.llada-a.dtyp=float16", "model_overrides.llada-a.dtyp", "'dtype'"),
    ("+progres=false", "progres", "'progress'"),
    ("ensemble.options.experimental.change_positions=bogus",
     "ensemble.options.experimental.change_positions", "answer_and_block"),  # fmt: skip
    ("decoding.policy=bogus", "decoding.policy", "'low_confidence'"),
    ("ensemble.options.experimental.tie_tolerance=-1", "ensemble.options.experimental.tie_tolerance",
     ">= 0"),  # fmt: skip
    ("ensemble.options.tie_break=bogus", "ensemble.options.tie_break", "'own_top1'"),
    ("ensemble.methods=[tie:bogus]", "'tie:bogus'", "'tcc'"),
    ("ensemble.interval=0", "ensemble.interval", ">= 1"),
    ("ensemble.interval=-1", "ensemble.interval", ">= 1"),
    ("ensemble.interval=1.5", "ensemble.interval", ">= 1"),
    ("ensemble.interval=true", "ensemble.interval", ">= 1"),
    ("+ensemble.options.batched_scorng=false", "ensemble.options.batched_scorng",
     "'batched_scoring'"),  # fmt: skip
    ("ensemble.options.batched_scoring=maybe", "ensemble.options.batched_scoring",
     "true or false"),  # fmt: skip
]  # fmt: skip


def assert_refusal(message: str, key: str, valid: str) -> None:
    assert "\n" not in message.strip(), message
    assert f" {key}" in message, message
    assert valid in message, message


@pytest.mark.parametrize(("override", "key", "valid"), BAD)
def test_python_api_refuses_in_one_line_naming_the_key_and_the_valid_keys(override, key, valid):
    with pytest.raises(RunConfigError) as err:
        build_plan(compose_run([override]))
    assert_refusal(str(err.value), key, valid)


@pytest.mark.parametrize(("override", "key", "valid"), BAD)
def test_lm_eval_model_args_refuse_the_same(override, key, valid):
    from tie.lmeval.model import TieLM

    name, _, value = override.partition("=")
    with pytest.raises(RunConfigError) as err:
        TieLM(models="llada-a|dream-b", method="tie:tcc", **{name: value})
    assert_refusal(str(err.value), key, valid)


def test_the_python_api_refusal_is_the_cli_one():
    """build_plan on a composed config and the pre-composition check name the same line."""
    from tie.runs.schema import check_overrides

    with pytest.raises(RunConfigError) as composed:
        build_plan(compose_run(["+decoding.blok_length=8"]))
    with pytest.raises(RunConfigError) as static:
        check_overrides(["decoding.blok_length=8"])
    assert str(composed.value) == str(static.value)


@pytest.mark.parametrize(
    ("sweep", "line"),
    [("ensemble.interval=8,0", "bad value ensemble.interval=0: "),
     ("ensemble.interval=range(0,3)", "bad value ensemble.interval=0: "),
     ("ensemble.options.tie_break=own_top1,bogus", "bad value ensemble.options.tie_break='bogus'"),
     ("ensemble.scoring=tcc,bogus", "unknown ensemble.scoring 'bogus'"),
     ("ensemble.methods=[post],[tie:bogus]", "unknown TIE scoring in 'tie:bogus'")],
)  # fmt: skip
def test_every_point_of_a_sweep_is_checked_before_the_first_job(sweep, line):
    from tie.runs.schema import check_overrides

    with pytest.raises(RunConfigError) as err:
        check_overrides([sweep])
    assert str(err.value).startswith(line)


def test_good_sweeps_and_interpolations_pass_the_command_line_check():
    from tie.runs.schema import check_overrides

    check_overrides(["ensemble.interval=8,16", "ensemble.interval=range(1,4)",
                     "ensemble.scoring=tcc,top1", "ensemble.methods=[post],[tie:tcc]",
                     "ensemble.interval=${task.paper.tcc_interval}",
                     "ensemble.options.tie_break=own_top1,random"])  # fmt: skip


BAD_VALUES = [("decoding.policy", "bogus"), ("ensemble.options.tie_break", "bogus"),
              ("ensemble.options.experimental.change_positions", "bogus"),
              ("ensemble.interval", 0), ("ensemble.interval", -1), ("ensemble.interval", 1.5),
              ("ensemble.interval", True), ("ensemble.methods", ["post", "tie:bogus"]),
              ("ensemble.scoring", ["tcc", "bogus"])]  # fmt: skip


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_a_bad_value_is_the_same_line_before_and_after_composing(key, value):
    """A bad value set in a composed config (as a YAML file sets it) is refused by `build_plan`
    and decode mode with the line the command line gets before Hydra composes."""
    from tie.runs.decode import check_decode_config
    from tie.runs.schema import check_overrides

    if isinstance(value, list):
        text = f"[{','.join(value)}]"
    else:
        text = str(value).lower() if isinstance(value, bool) else str(value)
    with pytest.raises(RunConfigError) as static:
        check_overrides([f"{key}={text}"])
    line = str(static.value)
    assert "\n" not in line and (f"{key}=" in line or "bogus'" in line), line
    checks = [(compose_run([]), build_plan)]
    if not key.startswith(("ensemble.methods", "ensemble.scoring")):  # decode mode: one model
        checks.append((compose_run(["mode=decode", "prompt=hi"]), check_decode_config))
    for cfg, check in checks:
        OmegaConf.update(cfg, key, value, merge=False)  # past the command-line check
        with pytest.raises(RunConfigError) as composed:
            check(cfg)
        assert str(composed.value) == line


def _with_per_method(per_method: dict, overrides: tuple[str, ...] = ()):
    """A composed config with `ensemble.per_method` (its `tie:<s>` keys cannot be written as a
    command-line override; overlays set them in YAML)."""
    cfg = compose_run(list(overrides))
    OmegaConf.update(cfg, "ensemble.per_method", per_method, merge=False)
    return cfg


def test_a_per_method_option_group_merges_into_the_runs_group():
    """`ensemble.per_method.tie:tcc.experimental.tie_tolerance` changes that one option of
    tie:tcc; the run's other `experimental` options stay (a deep merge, as Hydra merges)."""
    run_wide = ("ensemble.options.experimental.change_positions=answer_and_block",
                "ensemble.options.experimental.count_last_commit=true")  # fmt: skip
    cfg = _with_per_method({"tie:tcc": {"experimental": {"tie_tolerance": 0.5}}}, run_wide)
    base = cfg.ensemble.options.experimental.tie_tolerance
    assert base != 0.5
    objects = build_objects(cfg)
    tcc, top1 = objects["options"]["tie:tcc"], objects["options"]["tie:top1"]
    assert (tcc.experimental.tie_tolerance, top1.experimental.tie_tolerance) == (0.5, base)
    for opts in (tcc, top1):
        assert opts.experimental.change_positions == "answer_and_block"
        assert opts.experimental.count_last_commit is True
    assert objects["plan"].options["experimental"]["tie_tolerance"] == base  # base untouched


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_a_bad_per_method_interval_is_refused_in_one_line(value):
    with pytest.raises(RunConfigError) as err:
        build_plan(_with_per_method({"tie:tcc": {"interval": value}}))
    assert str(err.value).startswith(f"bad value ensemble.per_method.tie:tcc.interval={value!r}:")
    assert_refusal(str(err.value), "ensemble.per_method.tie:tcc.interval", ">= 1")


CLI_CASES = ("+ensemble.options.experimental.tie_tolerence=0.1", "decoding.blok_length=8",
             "+task.options.splt=dev", "decoding.policy=bogus", "ensemble.options.tie_break=bogus",
             "ensemble.options.experimental.change_positions=bogus", "ensemble.methods=[tie:bogus]",
             "ensemble.interval=0", "ensemble.interval=1.5", "ensemble.interval=true")  # fmt: skip
# + key, plain key, task option; bad values: a fixed set, registry names, the interval
CLI = [bad for bad in BAD if bad[0] in CLI_CASES]


@pytest.mark.parametrize(("override", "key", "valid"), CLI)
def test_tie_run_refuses_before_lightning_in_one_line(tmp_path, override, key, valid):
    env = {**os.environ, "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    t0, cpu0 = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run(
        [sys.executable, "-m", "tie.run", override, f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - t0, _children_cpu_s() - cpu0
    print(f"tie-run {override}: refused in {wall:.2f} s wall, {cpu:.2f} s CPU")
    assert proc.returncode != 0
    first, *rest = proc.stderr.strip().splitlines()
    assert first.startswith("tie-run: RunConfigError: "), proc.stderr
    assert rest == ["(TIE_DEBUG=1 shows the traceback)"], proc.stderr
    assert_refusal(first, key, valid)
    run = tmp_path / "run"  # Hydra's own record only: nothing of a run was written
    assert {p.name for p in run.iterdir()} <= {".hydra", "run.log"} if run.exists() else True
    # CPU seconds (what an idle machine's wall clock shows) hold on a loaded 2-core box too: an
    # unknown key or a bad value, before or after Hydra composes, never waits for torch (~5-10 s)
    assert cpu < 3.0, f"refused after {cpu:.1f} s of CPU (target ~1 s on an idle machine)"


LM_EVAL_CLI = [bad for bad in BAD if bad[0] in ("decoding.policy=bogus", "+data.limt=3")]


@pytest.mark.parametrize(("override", "key", "valid"), LM_EVAL_CLI)
def test_tie_lm_eval_refuses_a_bad_model_arg_before_loading_its_tasks(
    tmp_path, override, key, valid
):
    """`tie-lm-eval`'s command line gets the same line, before lm-eval indexes its task configs
    (~20 s) and before torch: a task name that does not exist is never reached."""
    arg = override.removeprefix("+")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    cpu0 = _children_cpu_s()
    proc = subprocess.run(
        [sys.executable, "-m", "tie.lmeval.cli", "--model", "tie", "--model_args",
         f"models=llada-a|dream-b,method=tie:tcc,{arg}", "--tasks", "no_such_task"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    cpu = _children_cpu_s() - cpu0
    print(f"tie-lm-eval {arg}: refused in {cpu:.2f} s CPU")
    first, *rest = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and rest == ["(TIE_DEBUG=1 shows the traceback)"], proc.stderr
    assert first.startswith("tie-lm-eval: RunConfigError: tie model_args: "), proc.stderr
    assert_refusal(first, key, valid)
    assert cpu < 3.0, f"refused after {cpu:.1f} s of CPU"


def _children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_the_config_check_imports_neither_torch_nor_lightning():
    """The refusal is immediate because the config check's modules are light (lazy package
    exports, registry names read from source); a torch import slipping into that path fails here.
    Every method kind and every scoring is checked (their registries), and a refusal too."""
    code = (
        "import sys\n"
        "from tie.run import check_config\n"
        "from tie.runs.compose import compose_run\n"
        "from tie.runs.errors import RunConfigError\n"
        "check_config(compose_run(['paths.output_dir=/tmp/x', 'experiment=main_results_code']))\n"
        "check_config(compose_run(['paths.output_dir=/tmp/x', 'mode=decode', 'prompt=hi']))\n"
        "check_config(compose_run(['paths.output_dir=/tmp/x',"
        " 'ensemble.methods=[single,post,tie,avg,vote,oracle]']))\n"
        "try:\n"
        "    check_config(compose_run(['ensemble.options.experimental.change_positions=x']))\n"
        "except RunConfigError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('not refused')\n"
        "heavy = sorted(m for m in ('torch', 'lightning', 'transformers', 'datasets')"
        " if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "TIE_SANDBOX": "weak"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr


def test_lazy_package_exports_are_the_defining_modules_objects():
    """`tie.decoding` / `tie.ensemble` export lazily (so the config check stays light); each
    exported name is its module's object, and an export wins over a same-named submodule
    (`tie.decoding.generate` is the function, as with an eager `__init__`)."""
    import importlib

    import tie.decoding
    import tie.ensemble
    from tie.decoding.generate import generate

    assert tie.decoding.generate is generate
    for package in (tie.decoding, tie.ensemble):
        exports = package._lazy_exports
        assert sorted(package.__all__) == sorted(exports) and set(exports) <= set(dir(package))
        for name, where in exports.items():
            module = importlib.import_module(where, package.__name__)
            assert getattr(package, name) is getattr(module, name), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tie.ensemble.nope  # noqa: B018


# --- the schema follows the classes by introspection -----------------------------------------------


@dataclasses.dataclass
class _Inner:
    depth: int = 1


@dataclasses.dataclass
class _Options:
    mode: Literal["a", "b"] = "a"
    inner: _Inner | dict[str, Any] | None = None
    size: int = 1

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be >= 1, got {self.size}")


class _Base:
    def __init__(self, data_dir: str | None = None, limit: int | None = None) -> None:
        self.data_dir = data_dir


class _Task(_Base):
    def __init__(self, *args: Any, timeout_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


def test_the_schema_reads_fields_literals_nested_classes_and_init_chains():
    assert valid_keys(_Options) == ["mode", "inner", "size"]
    assert valid_keys(_Task) == ["timeout_s", "data_dir", "limit"]
    with pytest.raises(RunConfigError, match=r"bad value x\.mode='c'; valid values: \['a', 'b'\]"):
        check_section("x", {"mode": "c"}, _Options)
    with pytest.raises(RunConfigError, match=r"unknown key x\.inner\.deep \(did you mean depth"):
        check_section("x", {"inner": {"deep": 2}}, _Options)
    with pytest.raises(RunConfigError, match=r"unknown key y\.limt .*\['data_dir', 'limit'"):
        check_section("y", {"limt": 2}, _Task)
    with pytest.raises(RunConfigError, match=r"bad value x\.size=0: size must be >= 1"):
        build(_Options, {"size": 0}, "x")
    assert build(_Options, {"mode": "b"}, "x").mode == "b"
