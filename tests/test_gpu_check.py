"""experiments/performance/gpu_check.py (issue 23) runs end to end at tiny size on CPU, and the
bench's `cache` suite it uses writes its rows; the GPU run itself needs a GPU machine."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tie.bench import BenchInputError, from_args

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "performance" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gpu_check_runs_at_tiny_size_and_writes_its_summary(tmp_path):
    torch.set_num_threads(1)
    summary = load_script().main(["--tiny", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert data["throughput"] == summary["throughput"]
    assert {(r["model"], r["batch"]) for r in data["throughput"]} == {
        (m, b) for m in ("llada-8b", "dream-7b") for b in (1, 4)
    }
    assert {(r["placement"], r["method"]) for r in data["tie_overhead"]} == {
        ("shared", "tie:tcc"),
        ("shared", "tie:top1"),
    }
    for r in data["tie_overhead"]:
        assert r["over_slowest_member"] >= r["over_sum_of_members"] > 0
    modes = {(r["model"], r["cache"]) for r in data["cache"]}
    assert modes == {(m, c) for m in ("llada-8b", "dream-7b") for c in ("none", "prefix", "dual")}
    for r in data["cache"]:
        assert r["speedup"] > 0 and 0 <= r["same_tokens_as_none"] <= 1
        if r["cache"] == "none":
            assert r["same_tokens_as_none"] == 1
    bench = json.loads((tmp_path / "bench_gpu_check.json").read_text())
    nfe = {(r["model"], r["cache"]): r["nfe_per_problem"] for r in bench["cache"]}
    assert len(set(nfe.values())) == 1  # a cache changes no forward count
    assert "KV cache" in (tmp_path / "bench_gpu_check.md").read_text()
    assert "| tie:tcc |" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_without_a_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = subprocess.run(
        [str(ROOT / "experiments" / "performance" / "gpu_check.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert out.returncode != 0 and "no CUDA device here" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--cache-modes", "none,full"], "cache_modes"), (["--prompt-len", "0"], "prompt_len")],
)
def test_bad_cache_suite_arguments_fail_before_any_model(args, message):
    with pytest.raises(BenchInputError, match=message):
        from_args(args)
