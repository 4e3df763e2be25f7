"""TIE as an lm-evaluation-harness model: `tie-lm-eval` runs a local task (tests/fixtures/lmeval)
end to end with zoo members and writes lm-eval's results and samples plus our traces.

Fast-tier cost: about 40 s on an idle 2-core machine (half of it lm-eval indexing its own task
configs): in-process tie-lm-eval decoding 6 problems with TIE over two zoo members, and 3 problems
decoded twice in-process. The CLI refusal of a log-likelihood task is in the slow tier."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TASK_DIR = REPO / "tests" / "fixtures" / "lmeval" / "synth_math_tie"
ZOO_ARGS = "answer_suffix=Answer:,answer_len=2,decoding=testbed,ensemble=testbed"
LIMIT = 6


def tie_lm_eval(args: list[str], monkeypatch) -> None:
    """`tie-lm-eval` (lm-eval's CLI with `tie` registered), in this process."""
    from tie.lmeval.cli import main

    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(1)
    main(args)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_tie_lm_eval_runs_a_local_task_and_writes_results_samples_and_traces(tmp_path, monkeypatch):
    out = tmp_path / "out"
    tie_lm_eval(
        ["--model", "tie", "--model_args", f"models=llada-a|dream-b,method=tie:tcc,{ZOO_ARGS}",
         "--include_path", str(TASK_DIR), "--tasks", "synth_math_tie", "--limit", str(LIMIT),
         "--log_samples", "--output_path", str(out)],
        monkeypatch,
    )  # fmt: skip
    (results_file,) = out.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    score = results["results"]["synth_math_tie"]["exact_match,answer"]
    assert results["config"]["model"] == "tie" and results["config"]["limit"] == LIMIT
    assert results["config"]["tie"]["method"] == "tie:tcc"
    assert results["config"]["tie"]["models"] == ["llada-a", "dream-b"]

    date_id = results_file.stem.removeprefix("results_")
    (samples_file,) = results_file.parent.glob(f"samples_synth_math_tie_{date_id}.jsonl")
    samples = read_jsonl(samples_file)
    assert len(samples) == LIMIT  # --limit honoured

    tie_dir = results_file.parent / f"tie_{date_id}"  # our traces, beside lm-eval's samples
    assert not list(out.glob(".tie-*")), "the staging folder was moved"
    preds = read_jsonl(tie_dir / "predictions.jsonl")
    assert [p["id"] for p in preds] == [f"synth_math_tie/{s['doc_id']}" for s in samples]
    rounds = pd.read_parquet(tie_dir / "traces" / "rounds.parquet")
    steps = pd.read_parquet(tie_dir / "traces" / "steps.parquet")
    assert set(rounds["id"]) == set(steps["id"]) == {p["id"] for p in preds}
    assert set(rounds["method"]) == {"tie:tcc"} and set(rounds["model"]) == {"llada-a", "dream-b"}

    # lm-eval's grade of each sample is our answer region against the gold answer: the
    # continuation is reasoning + "Answer:" + answer, and its regex filter reads the answer back
    by_id = {p["id"]: p for p in preds}
    for s in samples:
        ours = by_id[f"synth_math_tie/{s['doc_id']}"]
        assert s["resps"][0][0] == ours["continuation"]
        assert ours["continuation"].endswith("Answer:" + ours["prediction"])
        assert s["exact_match"] == float(ours["prediction"].strip() == s["target"])
    assert score == pytest.approx(sum(s["exact_match"] for s in samples) / LIMIT)


@pytest.mark.slow  # lm-eval indexes its ~10k task configs per CLI run (~20 s); the refusal
def test_loglikelihood_task_is_refused_in_one_line(monkeypatch):  # itself is in the fast tier below
    with pytest.raises(SystemExit) as exit_:
        tie_lm_eval(
            ["--model", "tie", "--model_args", f"models=llada-a,method=single:llada-a,{ZOO_ARGS}",
             "--include_path", str(TASK_DIR), "--tasks", "synth_math_tie_mc", "--limit", "2"],
            monkeypatch,
        )  # fmt: skip
    first = str(exit_.value.code).splitlines()[0]
    assert first.startswith("tie-lm-eval: TieLoglikelihoodError: tie: loglikelihood (")
    assert "no left-to-right" in first and "generate_until" in first


def test_the_model_decodes_like_tie_run_on_the_same_problems():
    """`single:llada-a` through lm-eval's interface gives tie-run's answer on the same canvas."""
    from lm_eval.api.instance import Instance

    from tie.lmeval.model import TieLM
    from tie.tasks.synth_math import SynthMathTask

    torch.set_num_threads(1)
    lm = TieLM(models="llada-a|dream-b", method="single:llada-a", answer_suffix="Answer:",
               answer_len=2, decoding="testbed", ensemble="testbed")  # fmt: skip
    task = SynthMathTask(seed=0, n=3)
    rows = [{**r, "_index": i} for i, r in enumerate(task.rows())]
    gen = {"until": ["\n\n"], "max_gen_toks": 50, "do_sample": False}
    requests = [
        Instance("generate_until", r, (r["prompt"], gen), i, metadata=("synth", i, 1))
        for i, r in enumerate(rows)
    ]
    texts = lm.generate_until(requests)
    ours = lm.api.run_method("single:llada-a", lm.module.constituents,
                             [r["prompt"] for r in rows], task, lm.module.options["single:llada-a"],
                             rows=rows)  # fmt: skip
    assert texts == [f"{o.reasoning}Answer:{o.prediction}" for o in ours]

    from tie.lmeval.model import TieLoglikelihoodError
    from tie.run import is_user_error

    for refuse in (lm.loglikelihood, lm.loglikelihood_rolling):
        with pytest.raises(TieLoglikelihoodError, match="no left-to-right factorisation") as err:
            refuse(requests)
        assert is_user_error(err.value)  # tie-lm-eval prints it as one line


def test_bad_model_args_fail_before_loading():
    from tie.lmeval.model import TieLM
    from tie.runs.errors import RunConfigError

    with pytest.raises(RunConfigError, match="unknown method"):
        TieLM(models="llada-a|dream-b", method="bogus")
    with pytest.raises(RunConfigError, match="names 2 methods"):
        TieLM(models="llada-a|dream-b", method="single")
    with pytest.raises(RunConfigError, match="oracle"):
        TieLM(models="llada-a|dream-b", method="oracle")
    with pytest.raises(RunConfigError, match="unknown model"):
        TieLM(models="no-such-model", method="post")


@pytest.mark.parametrize(
    ("args", "needs"),
    [({"models": "llada-a"}, "method="), ({"method": "tie:tcc"}, "models=")],
)
def test_a_missing_model_arg_is_named_not_a_type_error(args, needs):
    """The command line's early check gets what lm-eval parsed: a missing `method` or `models`
    is one clear line naming it (it was a TypeError traceback)."""
    from tie.lmeval.model import check_model_args
    from tie.runs.errors import RunConfigError

    with pytest.raises(RunConfigError, match=f"need {needs}"):
        check_model_args(args)
