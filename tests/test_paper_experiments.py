"""The experiment overlays lay out the paper's tables: at every point of each overlay's sweep
(the full grid Hydra's basic sweeper runs) the composed run has the models, placement, task set,
methods, intervals, decoding and swept setting the paper's table says.

The expectations below are written from the paper (TIE_SPEC sections 1, 3, 5 and issue 17), not
read from the configs, so a wrong overlay or a wrong `conf/task/<task>.yaml` `paper:` entry
fails here. Cost: about 70 Hydra compositions (~20-40 s on 2 cores), cached and shared with
tests/test_configs.py (tests/config_compose.py) when both run in one process.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from config_compose import compose_run, sweep_points  # shared with tests/test_configs.py
from omegaconf import OmegaConf

from tie.runs.paths import CONF_DIR
from tie.runs.plan import build_plan

ROOT = CONF_DIR.parent
PAIR = ["llada-1.5", "dream-7b-instruct"]
CODERS = ["dreamcoder-7b", "diffucoder-7b"]
MATH = {"gsm8k", "math500"}
CODE = {"humaneval", "mbpp"}
EIGHT = {"mmlu", "arc_c", "winogrande", "gsm8k", "math500", "humaneval", "mbpp", "countdown"}
LOGIT = ("tie:top1", "tie:entropy", "tie:margin")


def paper_tcc_interval(task: str) -> int:
    """n = 32 for the token change count on general reasoning, code and planning; 16 on math."""
    return 16 if task in MATH else 32


def paper_answer_cap(task: str) -> int | None:
    return 8 if task in CODE else None


@dataclass(frozen=True)
class PaperTable:
    item: str  # how the overlay's header names it
    overlays: tuple[str, ...]
    models: list[str]
    shown: set[str]  # task columns of the paper's table (MMLU* included)
    methods: set[str]
    swept: str | None = None  # the ablated setting: dotted config key
    values: set[Any] = field(default_factory=set)
    derive_mmlu_star: bool = False  # MMLU* derived from the MMLU run (both shown)


TABLES = [
    PaperTable(
        "Table 3",
        ("main_results_general", "main_results_math", "main_results_code"),
        PAIR,
        EIGHT | {"mmlu_star"},
        {"single:llada-1.5", "single:dream-7b-instruct", "post", "tie:tcc", *LOGIT},
        derive_mmlu_star=True,
    ),
    PaperTable(
        "Table 4",
        ("code_models",),
        CODERS,
        CODE,
        {"single:dreamcoder-7b", "single:diffucoder-7b", "post", "tie:tcc", "tie:top1"},
    ),
    PaperTable("Table 5", ("leader_switch",), PAIR, EIGHT, {"tie:tcc", "tie:top1"}),
    PaperTable(
        "Table 6",
        ("interval_ablation",),
        PAIR,
        {"mmlu", "mmlu_star", "arc_c", "winogrande", "gsm8k", "math500"},
        {"single:llada-1.5", "single:dream-7b-instruct", "tie:tcc"},
        swept="ensemble.interval",
        values={8, 16, 32},
        derive_mmlu_star=True,
    ),
    PaperTable(
        "Table 7",
        ("acceleration",),
        PAIR,
        {"gsm8k", "mmlu_star", "arc_c", "mbpp"},
        {"single:llada-1.5", "single:dream-7b-instruct", "post", "tie:tcc", "tie:top1"},
        swept="decoding.policy",
        values={"threshold", "topk"},
    ),
    PaperTable(
        "Table 8",
        ("normalisation",),
        PAIR,
        MATH,
        {"single:llada-1.5", "single:dream-7b-instruct", "tie:tcc"},
        swept="ensemble.options.normalise",
        values={True, False},
    ),
    PaperTable(
        "Table 9",
        ("cross_model_scoring",),
        PAIR,
        {"mmlu_star", "arc_c", "gsm8k", "math500"},
        {"single:llada-1.5", "single:dream-7b-instruct", *LOGIT},
        swept="ensemble.options.cross_model",
        values={True, False},
    ),
    PaperTable(
        "Table 10",
        ("final_selection",),
        PAIR,
        {"mmlu_star", "arc_c", "gsm8k", "math500", "mbpp"},
        {"single:llada-1.5", "single:dream-7b-instruct", "post", "tie:tcc", "tie:top1"},
        swept="ensemble.options.final_selection",
        values={"lowest_tcc", "best_model", "most_selected"},
    ),
]
FIGURE3 = "leader_switch"


_DECODING: dict[str, dict[str, Any]] = {}


def _decoding(choice: str, cap: int | None) -> dict[str, Any]:
    """The decode settings `decoding=<choice>` composes to, with the paper's answer cap."""
    if choice not in _DECODING:
        cfg = compose_run([f"decoding={choice}"])
        _DECODING[choice] = build_plan(cfg).decode
    return {**_DECODING[choice], "eos_answer_cap": cap}


def _jobs(table: PaperTable) -> list[tuple[str, list[str], Any, Any]]:
    jobs = []
    for overlay in table.overlays:
        for point in sweep_points(overlay):
            cfg = compose_run([f"experiment={overlay}", *point])
            jobs.append((overlay, point, cfg, build_plan(cfg)))
    return jobs


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.item.replace(" ", ""))
def test_overlays_run_the_papers_table_at_every_sweep_point(table):
    jobs = _jobs(table)
    tasks = {plan.task_name for *_, plan in jobs}
    shown = tasks | ({"mmlu_star"} if table.derive_mmlu_star and "mmlu" in tasks else set())
    assert shown == table.shown, f"{table.item}: runs {sorted(tasks)}"
    if table.derive_mmlu_star:  # decoded once, derived by subject in the analysis
        assert "mmlu_star" not in tasks
    seen_values = set()
    for overlay, point, cfg, plan in jobs:
        where = f"{overlay} {point}"
        task = plan.task_name
        assert [m.name for m in plan.models] == table.models, where
        assert plan.placement == "per_model", where  # the paper: one GPU per model
        assert set(plan.methods) == table.methods, where
        assert plan.limit is None, where  # the whole benchmark
        decode = plan.decode
        assert decode["block_length"] == 16 and decode["steps"] is None, where
        assert decode["temperature"] == 0.0 and decode["rounding"] == "strict", where
        assert decode["eos_answer_cap"] == paper_answer_cap(task), where
        if table.swept != "decoding.policy":
            assert decode["policy"] == "low_confidence", where
        # the whole decoding config is what decoding=code (code tasks) / default / the swept
        # acceleration option gives, whether the overlay selects it or reads the cap per task
        choice = cfg.decoding.name if table.swept == "decoding.policy" else "default"
        choice = "code" if task in CODE and choice == "default" else choice
        assert decode == _decoding(choice, paper_answer_cap(task)), where
        if table.swept == "ensemble.interval":
            n = plan.options["interval"]
            assert plan.interval("tie:tcc") == n, where
        else:
            if "tie:tcc" in plan.methods:
                assert plan.interval("tie:tcc") == paper_tcc_interval(task), where
            for m in LOGIT:
                if m in plan.methods:
                    assert plan.interval(m) == 16, where
        if table.swept is not None:
            value = OmegaConf.select(cfg, table.swept)
            seen_values.add((task, value))
        if table.swept == "ensemble.options.final_selection":
            assert plan.options["best_model"] == "dream-7b-instruct", where
        for key, mine in (
            ("normalise", True),
            ("cross_model", True),
            ("final_selection", "lowest_tcc"),
        ):
            if table.swept != f"ensemble.options.{key}":
                assert plan.options[key] == mine, where  # the paper's defaults elsewhere
    if table.swept is not None:  # every task at every value of the ablated setting
        assert seen_values == {(t, v) for t in tasks for v in table.values}


def test_every_paper_table_and_figure3_has_a_documented_overlay():
    for table in TABLES:
        for overlay in table.overlays:
            head = (CONF_DIR / "experiment" / f"{overlay}.yaml").read_text().split("defaults:")[0]
            assert re.search(rf"\b{table.item}\b", head), f"{overlay}: header names no {table.item}"
            assert f"tie-run -m experiment={overlay}" in head, f"{overlay}: no run command"
    head = (CONF_DIR / "experiment" / f"{FIGURE3}.yaml").read_text().split("defaults:")[0]
    assert "Figure 3" in head


def test_every_paper_overlay_has_a_launch_script_that_runs_it_then_its_analysis():
    launched: dict[str, str] = {}
    for script in sorted((ROOT / "experiments").glob("*/launch.sh")):
        text = script.read_text()
        names = re.findall(r"experiment=([A-Za-z_$]+)", text)
        names += re.findall(r"for EXP in ([^;]+);", text)[0].split() if "for EXP" in text else []
        for name in names:
            if name.startswith("$"):
                continue
            assert (CONF_DIR / "experiment" / f"{name}.yaml").is_file(), f"{script}: {name}"
            launched[name] = text
        if names:
            assert re.search(r"python -m analysis\.\w+", text), f"{script}: runs no analysis"
    for table in TABLES:
        for overlay in table.overlays:
            assert overlay in launched, f"no experiments/*/launch.sh runs {overlay}"


def _device(placement: str, root: str, i: int, devices: list[str] | None = None) -> str:
    """The device `tie-run` gives constituent i (the Lightning module's rule), without a run."""
    from types import SimpleNamespace

    import torch

    from tie.lit.module import EnsemblePredictModule

    plan = build_plan(compose_run(["experiment=main_results_math", f"placement={placement}"]))
    plan = dataclasses.replace(plan, devices=devices or [])
    trainer = SimpleNamespace(
        strategy=SimpleNamespace(root_device=torch.device(root)), local_rank=0
    )
    fake = SimpleNamespace(plan=plan, trainer=trainer)
    return EnsemblePredictModule._device_for(fake, i, None)  # type: ignore[arg-type]


def test_per_model_placement_runs_without_gpus_and_checks_the_gpu_count(caplog):
    """The paper overlays' per_model placement: explicit devices win; on CPU every constituent
    shares it (logged, so the overlays run on stand-ins in CI); on CUDA each model needs its own
    GPU, and too few is one clear error before any weights load."""
    from tie.runs.errors import RunConfigError

    assert _device("per_model", "cpu", 1, ["cuda:3", "cuda:5"]) == "cuda:5"
    assert _device("per_model", "cpu", 0) == "cpu" and _device("per_model", "cpu", 1) == "cpu"
    assert "no GPU, every constituent on cpu" in caplog.text
    import torch

    if torch.cuda.device_count() < 2:
        with pytest.raises(RunConfigError, match="needs 2 GPUs per process"):
            _device("per_model", "cuda:0", 1)
    assert _device("shared", "cpu", 1) == "cpu"
