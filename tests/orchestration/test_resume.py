"""Resume: a run killed mid-way and started again with the same run dir decodes only the missing
chunks and ends identical to an uninterrupted run; part files are atomic."""

from __future__ import annotations

import json

import orch_fakes
import pytest

from tie.run import execute
from tie.runs.errors import RunConfigError
from tie.runs.store import PredictionStore

N_METHODS = 8  # 3 singles + post + 4 TIE scorings


def strip_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_crash_then_resume_finishes_only_the_rest_and_matches_an_uninterrupted_run(
    make_cfg, tmp_path, monkeypatch
):
    crashed = tmp_path / "crashed"
    monkeypatch.setenv("ORCH_FAKE_CRASH_AFTER", str(2 * N_METHODS))  # dies inside chunk 3 of 3
    orch_fakes.CALLS["run_method"] = 0
    with pytest.raises(RuntimeError, match="simulated crash"):
        execute(make_cfg(run_dir=crashed))
    assert PredictionStore(crashed).done_chunks() == {0, 1}
    assert not (crashed / "predictions.jsonl").exists()

    monkeypatch.delenv("ORCH_FAKE_CRASH_AFTER")
    orch_fakes.CALLS["run_method"] = 0
    resumed = execute(make_cfg(run_dir=crashed))
    assert orch_fakes.CALLS["run_method"] == N_METHODS  # only the last chunk was decoded
    assert json.loads((crashed / "meta.json").read_text())["resumed"] is True

    clean = tmp_path / "clean"
    expected = execute(make_cfg(run_dir=clean))
    rows = (crashed / "predictions.jsonl").read_text().splitlines()
    ref = (clean / "predictions.jsonl").read_text().splitlines()
    assert strip_time([json.loads(x) for x in rows]) == strip_time([json.loads(x) for x in ref])
    for m, s in expected["methods"].items():
        assert resumed["methods"][m]["accuracy"] == s["accuracy"]
        assert resumed["methods"][m]["ci95"] == s["ci95"]
    assert resumed["comparisons"] == expected["comparisons"]
    # traces: one set per problem and method, no duplicates from the crashed chunk
    assert (crashed / "traces" / "rounds.txt").read_text().count("\n") == 12 * N_METHODS


def test_rerunning_a_finished_run_decodes_nothing(make_cfg, tmp_path):
    execute(make_cfg())
    orch_fakes.CALLS["run_method"] = 0
    execute(make_cfg())
    assert orch_fakes.CALLS["run_method"] == 0


def test_half_written_part_files_are_ignored(make_cfg, tmp_path):
    run_dir = tmp_path / "run"
    store = PredictionStore(run_dir)
    store.parts_dir.mkdir(parents=True)
    (store.parts_dir / ".chunk-000000.jsonl.999.tmp").write_text('{"index": 0, "id": "p0')
    assert store.done_chunks() == set()
    execute(make_cfg())
    assert len((run_dir / "predictions.jsonl").read_text().splitlines()) == 12 * N_METHODS


def test_resuming_with_different_settings_is_refused(make_cfg, tmp_path):
    execute(make_cfg("data.limit=4"))
    with pytest.raises(RunConfigError, match="different run"):
        execute(make_cfg("data.limit=4", "ensemble.interval=5"))
