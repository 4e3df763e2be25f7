"""Bad input on the paper path fails in one clear line, before any weights load: a stand-in
folder missing a tokenizer file, a benchmark file with a malformed row, a block length the
paper's generation length does not divide. Also: every point of every overlay lays out the
paper's canvas (real lengths) from the tokenizers alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import paper_helpers as ph
import pytest
from omegaconf import OmegaConf

from tie.runs.paths import CONF_DIR

RUN = ["api=paper_helpers:recording_api", "logger=none", "progress=false", "data.limit=2"]
PAPER_G = {"mmlu": 128, "mmlu_star": 128, "arc_c": 128, "winogrande": 128, "gsm8k": 256,
           "countdown": 256, "math500": 512, "humaneval": 512, "mbpp": 512}  # fmt: skip


def cli_error(argv: list[str], monkeypatch, tmp_path: Path) -> str:
    """The first line tie-run prints on a user error (the second is the TIE_DEBUG hint)."""
    with pytest.raises(SystemExit) as exc:
        ph.tie_run([*argv, f"hydra.run.dir={tmp_path / 'run'}"], monkeypatch)
    message = str(exc.value)
    assert message.startswith("tie-run: ") and message.count("\n") == 1, message
    return message.splitlines()[0]


def test_a_block_length_the_generation_length_does_not_divide(paper_env, monkeypatch, tmp_path):
    line = cli_error(
        ["experiment=main_results_math", "decoding.block_length=24", *RUN], monkeypatch, tmp_path
    )
    assert "DecodeInputError: task gsm8k on llada-1.5: generation length 256" in line
    assert "not divisible by block_length 24" in line
    assert ph.CALLS["inspect_model"] and not ph.CALLS["load_backend"], "weights were loaded"


def test_a_stand_in_missing_a_tokenizer_file(paper_env, monkeypatch, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    for folder in paper_env.iterdir():
        (models / folder.name).symlink_to(folder)
    (models / "LLaDA-1.5").unlink()
    shutil.copytree(paper_env / "LLaDA-1.5", models / "LLaDA-1.5")
    (models / "LLaDA-1.5" / "tokenizer.json").unlink()
    monkeypatch.setenv("TIE_MODELS_DIR", str(models))
    line = cli_error(["experiment=main_results_math", *RUN], monkeypatch, tmp_path)
    assert "CheckpointError" in line and "LLaDA-1.5" in line and "tokenizer.json" in line
    assert not ph.CALLS["load_backend"], "weights were loaded"


def test_a_benchmark_file_with_a_malformed_row(paper_env, monkeypatch, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ph.FIXTURES, data)
    gsm8k = data / "gsm8k" / "test.jsonl"
    rows = ph.jsonl(gsm8k)
    rows[1]["question"] = 42
    gsm8k.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("TIE_DATA_DIR", str(data))
    line = cli_error(["experiment=main_results_math", *RUN], monkeypatch, tmp_path)
    assert f"TaskDataError: gsm8k: {gsm8k} row 2: field 'question' has type int" in line
    assert not ph.CALLS["inspect_model"] and not ph.CALLS["load_backend"]


def benchmark_points() -> list[tuple[str, dict[str, str]]]:
    from test_paper_overlays import is_benchmark, point_config

    out = []
    for overlay in ph.overlays():
        for point in ph.sweep_points(overlay):
            if is_benchmark(point_config(overlay, point)):
                out.append((overlay, point))
    return out


def test_every_point_lays_out_the_paper_canvas_before_weights_load(paper_env):
    """The real generation lengths (128 / 256 / 512) with every overlay's models and decoding,
    from the tokenizers and configs alone: the check tie-run makes before loading weights."""
    from test_paper_overlays import point_config

    from tie.runs.canvas import check_canvases
    from tie.runs.evaluate import load_rows
    from tie.runs.plan import build_plan

    api = ph.recording_api()
    points = benchmark_points()
    assert points and (CONF_DIR / "experiment").is_dir()
    seen: set[str] = set()
    for overlay, point in points:
        cfg = point_config(overlay, point)
        # the layout is a function of the task, the models and the decoding: points that differ
        # only in ensemble options (interval, scoring, selection rule) lay out the same canvas
        key = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, ["task", "models", "decoding"]))
        if key in seen:
            continue
        seen.add(key)
        plan = build_plan(cfg)
        task = api.get_task(plan.task_name, **plan.task_options)
        layouts = check_canvases(plan, api, task, load_rows(task, None))
        assert len(layouts) == len(plan.models), (overlay, point)
        for lay in layouts:
            assert lay["gen_length"] == PAPER_G[plan.task_name], (overlay, point, lay)
            assert lay["reasoning"] + lay["suffix"] + lay["answer"] == lay["gen_length"]
            assert lay["gen_length"] % int(plan.decode["block_length"]) == 0
    assert not ph.CALLS["load_backend"]
