"""Rebuilding a run directory from a W&B run, with a stand-in for `wandb.Api` (offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import tables
from analysis.rundir import RunDirError
from analysis.wandb_source import materialise

RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"


class _Table:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def get_dataframe(self) -> pd.DataFrame:
        return self.frame


class _Artifact:
    def __init__(self, type_: str, source: Path) -> None:
        self.type, self.source = type_, source

    def get(self, key: str):
        return (
            _Table(pd.read_json(self.source / "predictions.jsonl", lines=True))
            if key == "predictions"
            else None
        )

    def download(self, root: str) -> str:
        shutil.copytree(self.source / "traces", root)
        return root


class _Run:
    def __init__(self, source: Path) -> None:
        self.path = "ent/proj/abc"
        self.config = {
            "task": {"name": "synth_math"},
            "models": ["llada-a", "dream-b"],
            "_wandb": {},
        }
        self._arts = [_Artifact("run_table", source), _Artifact("eval-traces", source)]

    def logged_artifacts(self):
        return iter(self._arts)


class _Api:
    def __init__(self, source: Path) -> None:
        self.source = source

    def run(self, path: str) -> _Run:
        return _Run(self.source)


def test_materialise_rebuilds_a_run_directory(tmp_path):
    run = materialise("ent/proj/abc", tmp_path / "run", api=_Api(RUNS / "main"))
    assert run.task == "synth_math" and "_wandb" not in run.config
    assert len(run.predictions) == len(
        pd.read_json(RUNS / "main" / "predictions.jsonl", lines=True)
    )
    assert run.has_trace("steps") and run.has_trace("rounds")
    frame = tables.results_frame([run], n_boot=50)
    assert set(frame["method"]) == set(run.methods)


def test_materialise_rejects_a_bad_run_path(tmp_path):
    with pytest.raises(RunDirError, match="entity/project/run_id"):
        materialise("just-an-id", tmp_path, api=_Api(RUNS / "main"))
