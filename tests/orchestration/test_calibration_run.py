"""tie-run with ensemble.options.calibration=fit: temperatures fitted on a held-out split of the
task (shipped zoo members), recorded, and used by the logit-scored TIE methods."""

from __future__ import annotations

import json
import math

import pytest

from tie.run import execute
from tie.runs.errors import RunConfigError

ZOO = ["api=tie.runs.api:default_api", "task=synth_math", "decoding=testbed", "ensemble=testbed",
       "models=[llada-a,dream-b]", "data.limit=2", "data.batch_size=2", "stats.n_boot=50",
       "tracing.enabled=false", "ensemble.methods=[tie:top1]"]  # fmt: skip


def test_fit_on_dev_split_records_temperatures(make_cfg, tmp_path):
    metrics = execute(make_cfg(*ZOO, "ensemble.options.calibration=fit",
                               "+ensemble.calibration_data.limit=6"))  # fmt: skip
    record = json.loads((tmp_path / "run" / "calibration.json").read_text())
    temps = record["temperatures"]
    assert set(temps) == {"llada-a", "dream-b"}
    assert all(math.isfinite(t) and 0.05 <= t <= 20 for t in temps.values())
    assert record["n_rows"] == 6 and record["task_options"] == {"split": "dev"}
    assert all("-dev-" in i for i in record["ids"])
    assert metrics["calibration"]["temperatures"] == temps
    assert metrics["methods"]["tie:top1"]["n"] == 2


def test_fit_refuses_a_set_overlapping_the_evaluated_problems(make_cfg):
    cfg = make_cfg(*ZOO, "ensemble.options.calibration=fit",
                   "+ensemble.calibration_data.task_options={split: test}")  # fmt: skip
    with pytest.raises(RunConfigError, match="overlaps the evaluated problems"):
        execute(cfg)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("ensemble.options.calibration=fitt", "must be null"),
        ("+ensemble.calibration_data.bounds=[2,1]", "bounds"),
        ("+ensemble.calibration_data.size=3", r"unknown key ensemble\.calibration_data\.size"),
    ],
)
def test_bad_calibration_config_fails_before_loading(make_cfg, override, message):
    extra = [] if "options.calibration" in override else ["ensemble.options.calibration=fit"]
    with pytest.raises(RunConfigError, match=message):
        execute(make_cfg(*ZOO, *extra, override))


def test_method_options_carry_the_fitted_temperatures(make_cfg):
    from tie.runs.plan import build_plan

    plan = build_plan(make_cfg(*ZOO, "ensemble.options.calibration=fit"))
    assert plan.fits_calibration and plan.calibration_data["limit"] == 64
    assert plan.method_options("tie:top1")["calibration"] is None  # before fitting
    fitted = plan.method_options("tie:top1", {"llada-a": 0.2, "dream-b": 0.1})
    assert fitted["calibration"] == {"llada-a": 0.2, "dream-b": 0.1}
    assert not build_plan(make_cfg(*ZOO)).fits_calibration
