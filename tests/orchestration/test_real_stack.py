"""tie-run over the real task registry, decoder, TIE engine and tracer (tiny random models):
the seams of docs/CONTRACTS.md as tie-run uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tie.run import execute


def test_real_engine_run_writes_predictions_and_parquet_traces(make_cfg, tmp_path):
    run_dir = tmp_path / "run"
    execute(make_cfg("api=orch_fakes:tiny_real_api", "data.limit=2", "data.batch_size=1",
                     "ensemble.methods=[single:llada-a,post,tie:tcc,tie:top1]"))  # fmt: skip
    rows = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 4
    assert all(r["nfe"] > 0 for r in rows)
    assert {r["selected_model"] for r in rows if r["method"] == "single:llada-a"} == {"llada-a"}
    cands = next(r for r in rows if r["method"] == "tie:tcc")["candidates"]
    assert {c["model"] for c in cands} == {"llada-a", "dream-b", "llada-c"}
    traces = run_dir / "traces"
    assert not list(traces.glob("*.rank*.parquet")), "per-chunk trace files are merged"
    rounds = pd.read_parquet(traces / "rounds.parquet")
    assert set(rounds["id"].astype(str)) == {r["id"] for r in rows}
    assert set(rounds["method"]) >= {"tie:tcc", "tie:top1"}


def test_decode_mode_with_the_real_generate(make_cfg):
    text = execute(make_cfg("api=orch_fakes:tiny_real_api", "mode=decode", "model=llada-a",
                            "prompt=hello", "decoding.gen_length=8"))  # fmt: skip
    assert isinstance(text, str)


def test_evaluate_decodes_one_token_per_step_when_the_suffix_shifts_the_blocks(make_cfg, tmp_path):
    """decoding.steps=null is one token per step (each block steps once per mask it holds), also
    when the answer suffix makes the blocks straddle it: every single decode then spends exactly
    one forward per generated token. (An explicit steps = R + A spread over ceil((R + S + A) / bl)
    blocks commits two tokens in some steps and misaligns relay rounds with the blocks.)"""
    from tie.tasks.synth_math import SynthMathTask

    task = SynthMathTask()
    budget = task.budget
    execute(make_cfg("api=orch_fakes:tiny_real_api", "task=synth_math", "decoding=testbed",
                     "data.limit=2", "ensemble.methods=[single:llada-a,single:dream-b]"))  # fmt: skip
    rows = [
        json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    ]
    assert (budget.reasoning_len + len(task.answer_suffix)) % 8  # a block straddles the suffix
    assert {r["nfe"] for r in rows} == {budget.reasoning_len + budget.answer_len}


def test_code_task_run_grades_in_the_sandbox_and_records_its_isolation(make_cfg, tmp_path):
    """A HumanEval run end to end: generated code is graded in the sandbox (a random tiny model
    writes no passing program) and meta.json names the isolation the code ran under."""
    fixtures = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "humaneval"
    execute(make_cfg("api=orch_fakes:tiny_real_api", "task=humaneval", "data.limit=1",
                     f"+task.options.data_dir={fixtures}", "+task.options.timeout_s=2",
                     "+task.options.reasoning_len=8", "+task.options.answer_len=32",
                     "ensemble.methods=[single:llada-a]"))  # fmt: skip
    run_dir = tmp_path / "run"
    rows = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [r["correct"] for r in rows] == [False]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["code_sandbox"].startswith("strict:bwrap")
