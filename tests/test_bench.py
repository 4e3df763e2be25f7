"""The performance harness runs end to end on tiny settings and writes well-formed outputs.

Benchmarks measure, they do not assert speed: these tests only check that every suite runs, the
outputs are complete and parseable, bad arguments fail before any model is built, and the pieces
with a checkable meaning (reference quota table, coverage tokenizer, memory meter) are right.
"""

from __future__ import annotations

import json
import logging

import pytest
import torch

from tie.bench import BenchConfig, BenchInputError, from_args, run_bench
from tie.bench.__main__ import main
from tie.bench.meter import Meter
from tie.bench.models import coverage_tokenizer, real_shape_config
from tie.bench.reference import quota_table
from tie.decoding import llada_schedule

torch.set_num_threads(1)

TINY = dict(
    source="tiny",
    batch_sizes=[2],
    n_problems=2,
    gen_length=8,
    reference_batch_sizes=[2],
    repeats=1,
    warmup=0,
    tag="t",
)


def test_every_suite_runs_and_writes_json_and_markdown(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tie.bench")
    methods = ["single:llada-a", "single:dream-b", "tie:tcc", "tie:top1"]
    cfg = BenchConfig(out_dir=str(tmp_path), methods=methods, **TINY)
    result = run_bench(cfg)
    # progress: every timed call is one line as it ends (suite, job, round, seconds)
    progress = [r.getMessage() for r in caplog.records if r.name == "tie.bench"]
    assert progress[0].startswith("built llada-a, dream-b (tiny, cpu)")
    for line in (
        "throughput dream-b batch 2 signals run 1/1 ",
        "reference llada-a batch 2: ours run 1/1 ",
        "methods (shared, batch 2): tie:top1 unbatched run 1/1 ",
    ):
        assert sum(p.startswith(line) for p in progress) == 1, (line, progress)
    data = json.loads((tmp_path / "bench_t.json").read_text())
    md = (tmp_path / "bench_t.md").read_text()
    assert data["source"] == "tiny" and [m["name"] for m in data["models"]] == [
        "llada-a",
        "dream-b",
    ]
    # throughput: one row per model (largest batch also with signals on)
    assert {(r["model"], r["signals"]) for r in data["throughput"]} == {
        (m, s) for m in ("llada-a", "dream-b") for s in (False, True)
    }
    for r in data["throughput"]:
        assert r["tokens_per_s"] > 0 and r["nfe_per_problem"] == 48 + 2
    for r in data["reference"]:
        assert r["identical_tokens"] is True and r["reference_forwards"] == 8
    rows = {r["method"]: r for r in data["methods"]}
    assert list(rows) == ["decode:llada-a", "decode:dream-b", *methods, "tie:top1 unbatched"]
    # the logit scoring with batched_scoring=false: same outputs and NFE, its own wall
    off, on = rows["tie:top1 unbatched"], rows["tie:top1"]
    assert (on["batched_scoring"], off["batched_scoring"], off["same_as_batched"]) == (
        True,
        False,
        True,
    )
    assert off["nfe_per_problem"] == on["nfe_per_problem"] and off["wall_ratio"] > 0
    assert "batched_scoring" not in rows["tie:tcc"]
    assert rows["decode:llada-a"]["nfe_per_problem"] == rows["single:llada-a"]["nfe_per_problem"]
    keys = {"nfe_ratio", "wall_ratio", "cpu_ratio", "wall_ratio_vs_decoder", "tracing_overhead"}
    assert keys <= set(rows["tie:tcc"])
    assert "nfe_ratio" not in rows["single:llada-a"]
    assert any(t["target"].startswith("tie:tcc nfe_ratio") for t in data["targets"])
    assert data["environment"]["memory_method"] in ("rss_hwm_reset", "ru_maxrss_delta")
    for header in ("throughput", "reference loop", "Methods", "Targets"):
        assert header in md
    assert md.count("| tie:tcc |") == 1 and result["files"]["json"].endswith("bench_t.json")
    assert not list(tmp_path.glob("*.tmp"))


def test_per_model_on_two_cpus_adds_the_concurrent_placement(tmp_path):
    """`--devices cpu,cpu` (issue 23): a per_model placement whose ensembles decode their members
    concurrently, with TIE's wall over its slowest constituent, in that placement and shared."""
    methods = ["single:llada-a", "single:dream-b", "tie:tcc"]
    cfg = BenchConfig(out_dir=str(tmp_path), methods=methods, devices=["cpu", "cpu"],
                      suites=["methods"], **TINY)  # fmt: skip
    threads = torch.get_num_threads()  # TINY sets none: the process's count, 1 or 2 by test order
    data = run_bench(cfg)
    rows = {(r["method"], r["placement"]): r for r in data["methods"]}
    assert {p for _, p in rows} == {"shared", "per_model"}
    tie = rows[("tie:tcc", "per_model")]
    slowest = max(rows[(m, "per_model")]["wall_s"] for m in methods[:2])
    assert tie["wall_ratio_vs_slowest"] == pytest.approx(tie["wall_s"] / slowest)
    assert "wall_ratio_vs_slowest_shared" in tie
    assert "wall_ratio_vs_slowest" not in rows[("tie:tcc", "shared")]
    assert tie["nfe_per_problem"] == rows[("tie:tcc", "shared")]["nfe_per_problem"]
    assert any("wall_ratio_vs_slowest" in t["target"] for t in data["targets"])
    assert torch.get_num_threads() == threads  # the placement's thread share is given back


def test_real_shape_path_runs_tiny_on_cpu(tmp_path):
    args = ["--preset", "gpu", "--device", "cpu", "--real-size", "tiny", "--suites", "throughput"]
    args += [
        "--batch-sizes",
        "1",
        "--reasoning-len",
        "8",
        "--answer-len",
        "2",
        "--block-length",
        "8",
    ]
    args += ["--repeats", "1", "--warmup", "0", "--out-dir", str(tmp_path)]
    cfg = from_args(args)
    assert (cfg.source, cfg.dtype, cfg.tag) == ("real", "bfloat16", "gpu")
    data = run_bench(cfg)
    assert [m["name"] for m in data["models"]] == ["llada-8b", "dream-7b"]
    assert data["dtype"] == "bfloat16" and len(data["throughput"]) == 4
    assert data["reference"] == [] and data["methods"] == []
    assert (tmp_path / "bench_gpu.md").is_file()


def test_real_shape_configs_keep_the_published_shapes():
    family, cfg = real_shape_config("llada-8b", "full")
    assert family == "llada" and (cfg["d_model"], cfg["n_layers"], cfg["vocab_size"]) == (
        4096,
        32,
        126464,
    )
    family, cfg = real_shape_config("dream-7b", "full")
    assert family == "dream" and (cfg["hidden_size"], cfg["mask_token_id"]) == (3584, 151666)
    _, tiny = real_shape_config("dream-7b", "tiny")
    assert tiny["vocab_size"] == 512 and tiny["mask_token_id"] < 512
    # "vocab": the published vocabulary and special ids, a small body
    for name, vocab, mask in (("llada-8b", 126464, 126336), ("dream-7b", 152064, 151666)):
        family, cfg = real_shape_config(name, "vocab")
        width = cfg["d_model"] if family == "llada" else cfg["hidden_size"]
        assert (cfg["vocab_size"], cfg["mask_token_id"], width) == (vocab, mask, 256)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "gpu"], "CUDA"),
        (["--batch-sizes", "0"], "batch_sizes"),
        (["--gen-length", "12"], "multiple of block_length"),
        (["--suites", "throughput,speed"], "unknown suites"),
        (["--device", "npu:0"], "bad device"),
    ],
)
def test_bad_arguments_fail_before_any_model(args, message):
    if message == "CUDA" and torch.cuda.is_available():
        pytest.skip("CUDA present: the gpu preset is valid here")
    with pytest.raises(BenchInputError, match=message):
        from_args(args)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"methods": ["tie:vote"]}, "not benchmarkable"),
        ({"methods": ["single:llada-c"]}, "not benchmarkable"),
        ({"models": ["llada-8b"]}, "not available"),
        ({"models": ["llada-a"], "methods": ["post"]}, "at least two"),
    ],
)
def test_bad_models_or_methods_fail_before_any_model(tmp_path, overrides, message, monkeypatch):
    import tie.bench.runner as runner

    monkeypatch.setattr(runner, "build_models", lambda *a, **k: pytest.fail("built a model"))
    cfg = BenchConfig(out_dir=str(tmp_path), **{**TINY, **overrides})
    with pytest.raises(BenchInputError, match=message):
        run_bench(cfg)


def test_cli_reports_bad_input_with_exit_code_2(capsys):
    assert main(["--repeats", "0"]) == 2
    assert "repeats" in capsys.readouterr().err


@pytest.mark.parametrize(("n", "spb"), [(10, 4), (8, 8), (3, 5), (16, 1)])
def test_reference_quota_matches_llada_schedule(n, spb):
    assert quota_table(torch.tensor([n]), spb)[0].tolist() == llada_schedule(n, spb)


def test_coverage_tokenizer_places_specials_and_round_trips_text():
    specials = {"<|endoftext|>": 90, "<|im_start|>": 91, "<|im_end|>": 92, "<|mask|>": 99}
    tok = coverage_tokenizer("dream", 300, specials)
    assert len(tok) == 300 and tok.mask_token_id == 99 and tok.eos_token_id == 92
    text = "e030+e603=\n<|im_end|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len("e030+e603=\n") + 1 and ids[-1] == 92
    assert tok.decode(ids) == text
    assert len(tok.decode([250])) == 1  # a filler id decodes to one character


def test_meter_sees_a_large_torch_allocation():
    meter = Meter(torch.device("cpu"))
    _, sample = meter.once(lambda: torch.ones(16 * 2**20).sum())  # 64 MiB of float32
    if meter.memory_method == "rss_hwm_reset":
        assert sample.peak_bytes >= 48 * 2**20
    assert sample.wall_s > 0


def test_unbatched_scoring_rows_are_on_by_default_and_can_be_dropped(tmp_path, capsys):
    assert from_args([]).unbatched_scoring is True
    args = ["--source", "tiny", "--suites", "methods", "--methods", "single:llada-a,single:dream-b,"
            "tie:top1", "--n-problems", "2", "--gen-length", "8", "--repeats", "1", "--warmup",
            "0", "--threads", "1", "--tag", "t", "--out-dir", str(tmp_path),
            "--no-unbatched-scoring"]  # fmt: skip
    assert main(args) == 0  # the CLI to the end
    rows = json.loads((tmp_path / "bench_t.json").read_text())["methods"]
    assert "tie:top1" in {r["method"] for r in rows}
    assert not any(r["method"].endswith(" unbatched") for r in rows)
    assert "| tie:top1 |" in capsys.readouterr().out
