"""experiments/performance/gpu_check.sh (issue 23) runs end to end at tiny size on CPU, and the
bench's `cache` suite it uses writes its rows; the GPU run itself needs a GPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tie.bench import BenchInputError, from_args

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = ROOT / "experiments" / "performance" / "gpu_check.sh"


def run_wrapper(*args: str, timeout: int) -> subprocess.CompletedProcess:
    """`gpu_check.sh` as users run it (the venv's python, one thread)."""
    return subprocess.run(
        [str(WRAPPER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"},
    )


def test_gpu_check_wrapper_runs_at_tiny_size_and_writes_its_summary(tmp_path):
    """The wrapper users run, end to end in its tiny CPU mode (`--tiny` reaches the script)."""
    out = run_wrapper("--tiny", "--out", str(tmp_path), timeout=420)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert "tiny shapes on CPU" in out.stdout  # the summary it prints is the tiny run's
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
        if r["cache"] == "none":  # the step's parts are measured next to the exact decode
            assert r["same_tokens_as_none"] == 1 and r["ceiling"] >= 1
        else:
            assert r["ceiling"] is None
    bench = json.loads((tmp_path / "bench_gpu_check.json").read_text())
    nfe = {(r["model"], r["cache"]): r["nfe_per_problem"] for r in bench["cache"]}
    assert len(set(nfe.values())) == 1  # a cache changes no forward count
    for r in bench["cache"]:
        if r["cache"] == "none":
            assert r["head_ms"] > 0 and 0 <= r["body_ms"] < r["step_ms"]
            assert r["ceiling"] == pytest.approx(r["step_ms"] / (r["step_ms"] - r["body_ms"]))
    assert "ceiling (free body)" in (tmp_path / "bench_gpu_check.md").read_text()
    assert "| tie:tcc |" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_without_a_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = run_wrapper(timeout=120)
    assert out.returncode != 0 and "no CUDA device here" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--cache-modes", "none,full"], "cache_modes"), (["--prompt-len", "0"], "prompt_len")],
)
def test_bad_cache_suite_arguments_fail_before_any_model(args, message):
    with pytest.raises(BenchInputError, match=message):
        from_args(args)
