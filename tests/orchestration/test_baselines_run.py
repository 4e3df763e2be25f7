"""Issue 9 baselines (avg:mean, avg:product, vote, oracle) through tie-run on the shipped zoo:
selectable by config, written as named methods with NFE and wall time, ordered in the tables (tests/analysis/test_analysis_tables.py)."""

from __future__ import annotations

import json

import pytest

from tie.run import execute
from tie.runs.errors import RunConfigError
from tie.runs.plan import expand_methods

ZOO = "api=tie.runs.api:default_api"
FAST = ["task=synth_math", "decoding=testbed", "ensemble=testbed", "data.limit=2",
        "data.batch_size=2", "stats.n_boot=50", "tracing.enabled=false"]  # fmt: skip


def _rows(run_dir):
    return [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]


def test_expand_methods_baselines():
    names = ["a", "b"]
    assert expand_methods(["single", "vote", "oracle", "avg:mean"], None, names) == [
        "single:a", "single:b", "vote", "oracle", "avg:mean"]  # fmt: skip
    assert expand_methods(["avg"], None, names) == ["avg:mean", "avg:product"]
    with pytest.raises(RunConfigError, match="avg rule"):
        expand_methods(["avg:median"], None, names)
    with pytest.raises(RunConfigError, match="takes no argument"):
        expand_methods(["vote:a"], None, names)


def test_avg_on_different_tokenizers_fails_before_compute(make_cfg, tmp_path):
    cfg = make_cfg(ZOO, *FAST, "models=[llada-a,dream-b,llada-c]",
                   "ensemble.methods=[single,avg:mean]")  # fmt: skip
    with pytest.raises(RunConfigError, match="share one tokenizer") as err:
        execute(cfg)
    assert "zoo/llada-a" in str(err.value) and "zoo/dream-b" in str(err.value)
    assert not (tmp_path / "run" / "parts").exists() or not list(
        (tmp_path / "run" / "parts").glob("*.jsonl")
    ), "nothing was decoded"


def test_avg_on_shared_tokenizer_zoo_pair(make_cfg, tmp_path):
    run_dir = tmp_path / "run"
    metrics = execute(make_cfg(ZOO, *FAST, "models=[llada-a,llada-c]",
                               "ensemble.methods=[single,avg:mean,avg:product]"))  # fmt: skip
    rows = _rows(run_dir)
    singles = {r["id"]: r["nfe"] for r in rows if r["method"] == "single:llada-a"}
    for m in ("avg:mean", "avg:product"):
        got = [r for r in rows if r["method"] == m]
        assert len(got) == 2
        for r in got:
            assert r["nfe"] == 2 * singles[r["id"]]  # one forward per constituent per step
            assert r["wall_s"] > 0 and r["selected_model"] == "llada-a+llada-c"
        assert metrics["methods"][m]["n"] == 2 and metrics["methods"][m]["nfe_mean"] > 0
        assert m in metrics["comparisons"]


def test_vote_and_oracle_on_zoo_trio(make_cfg, tmp_path):
    run_dir = tmp_path / "run"
    metrics = execute(make_cfg(ZOO, *FAST, "models=[llada-a,dream-b,llada-c]",
                               "ensemble.methods=[single,vote,oracle]"))  # fmt: skip
    rows = _rows(run_dir)
    by = {(r["id"], r["method"]): r for r in rows}
    ids = {r["id"] for r in rows}
    assert len(ids) == 2
    for i in ids:
        for m in ("vote", "oracle"):
            assert by[i, m]["nfe"] > 0 and by[i, m]["wall_s"] > 0
        singles = [by[i, f"single:{n}"]["correct"] for n in ("llada-a", "dream-b", "llada-c")]
        assert by[i, "oracle"]["correct"] >= max(singles)
        assert by[i, "oracle"]["correct"] == any(singles)
    for m in ("vote", "oracle"):
        assert metrics["methods"][m]["n"] == 2 and metrics["methods"][m]["wall_s"] > 0
    assert metrics["methods"]["oracle"]["accuracy"] >= max(
        metrics["methods"][f"single:{n}"]["accuracy"] for n in ("llada-a", "dream-b", "llada-c")
    )
