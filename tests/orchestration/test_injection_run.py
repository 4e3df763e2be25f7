"""mode=inject (`tie-run experiment=injection`): the injection study in both directions on tiny
random-initialised models, written where analysis.correction reads it, resumable, and refused
before any compute on bad input."""

from __future__ import annotations

import json
import sys

import orch_fakes
import pandas as pd
import pytest
from conftest import REPO

if str(REPO) not in sys.path:  # `analysis/` is a top-level package, not installed
    sys.path.insert(0, str(REPO))

from analysis.correction import COLUMNS, correction_rates  # noqa: E402
from analysis.correction import run as correction_run  # noqa: E402
from tie.run import execute  # noqa: E402
from tie.runs.errors import RunConfigError

TINY = ("experiment=injection", "api=orch_fakes:tiny_real_api", "task=synth_math",
        "decoding=testbed", "models=[llada-a,dream-b]", "data.limit=2", "data.batch_size=1",
        "logger=csv")  # fmt: skip
DIRECTIONS = [("llada-a", "dream-b"), ("dream-b", "llada-a")]


def test_injection_run_writes_records_metrics_and_resumes(make_cfg, tmp_path):
    run_dir = tmp_path / "run"
    metrics = execute(make_cfg(*TINY))

    table = pd.read_parquet(run_dir / "traces" / "injection.parquet")
    assert set(COLUMNS) <= set(table.columns)
    assert len(table) == 2 * len(DIRECTIONS) * 2  # problems x directions x ratios
    assert set(zip(table["source"], table["target"])) == set(DIRECTIONS)
    assert sorted(set(table["ratio"])) == [0.33, 0.5]
    assert list(table["index"]) == sorted(table["index"])  # dataset order
    # A alone / B alone agree with the single-model predictions of the same run
    preds = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    single = {(p["id"], p["method"].removeprefix("single:")): p["correct"] for p in preds}
    for rec in table.itertuples():
        assert rec.source_correct == single[(rec.id, rec.source)]
        assert rec.target_correct == single[(rec.id, rec.target)]

    # metrics.json: per direction and ratio, the same numbers analysis.correction computes
    on_disk = json.loads((run_dir / "metrics.json").read_text())["injection"]
    assert on_disk.keys() == metrics["injection"].keys() == {"llada-a->dream-b", "dream-b->llada-a"}
    rates = correction_rates(table, n_boot=200)
    for r in rates.itertuples():
        s = on_disk[f"{r.source}->{r.target}"][f"{r.ratio:g}"]
        assert (s["n_eligible"], s["n_corrected"], s["n_broken"]) == (
            r.n_eligible, r.n_corrected, r.n_broken)  # fmt: skip
    assert (run_dir / "injection.csv").read_text().count("\n") == 1 + len(DIRECTIONS) * 2
    written = correction_run(run_dir)
    assert any(p.name == "correction_rate.png" for p in written)

    # resume: a lost chunk is decoded again, nothing is duplicated, the result is the same
    (run_dir / "parts" / "chunk-000001.jsonl").unlink()
    (run_dir / "parts" / "injection-000001.jsonl").unlink()
    execute(make_cfg(*TINY))
    assert json.loads((run_dir / "meta.json").read_text())["resumed"] is True
    again = pd.read_parquet(run_dir / "traces" / "injection.parquet")
    pd.testing.assert_frame_equal(
        again.drop(columns="wall_s"), table.drop(columns="wall_s"), check_like=True
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["injection.ratios=[0.33,1.0]"], "strictly in \\(0, 1\\)"),
        (["injection.ratios=[0.0]"], "strictly in \\(0, 1\\)"),
        (["injection.ratios=[]"], "needs injection.ratios"),
        (["injection.ratios=[0.5,0.5]"], "duplicate"),
        (["models=[llada-a]"], "at least 2 constituents"),
        (["data.limit=2"], "has no run_injection"),  # fake stack without the injection engine
    ],
)
def test_bad_injection_config_fails_before_compute(make_cfg, tmp_path, overrides, message):
    orch_fakes.CALLS["run_method"] = 0
    with pytest.raises(RunConfigError, match=message):
        execute(make_cfg("mode=inject", "ensemble.methods=[single]", *overrides))
    assert orch_fakes.CALLS["run_method"] == 0
    assert not (tmp_path / "run" / "parts").exists()


def test_metrics_rates_match_analysis_correction_on_the_fixture_run():
    from tie.runs.metrics import injection_metrics

    table = pd.read_parquet(REPO / "tests/fixtures/runs/injection/traces/injection.parquet")
    ours = injection_metrics(table.to_dict("records"), n_boot=200, seed=0)
    rates = correction_rates(table, n_boot=200, seed=0)
    assert (rates["n_eligible"] > 0).all()
    for r in rates.itertuples():
        s = ours[f"{r.source}->{r.target}"][f"{r.ratio:g}"]
        assert s["correction_rate"] == pytest.approx(r.correction_rate)
        assert s["ci95"] == pytest.approx([r.ci_low, r.ci_high])
        assert (s["n_eligible"], s["n_corrected"], s["n_broken"]) == (
            r.n_eligible, r.n_corrected, r.n_broken)  # fmt: skip
