"""Stand-ins of the published checkpoints, written once per test session, and an environment that
points tie-run at them and at the benchmark fixtures (TIE_MODELS_DIR, TIE_DATA_DIR)."""

from __future__ import annotations

from pathlib import Path

import paper_helpers
import pytest
import torch


@pytest.fixture(scope="session")
def standins(tmp_path_factory) -> Path:
    from tie.models.standins import write_standins

    root = tmp_path_factory.mktemp("standins")
    # the published layouts and vocabularies, the smallest body the stand-ins allow: every step
    # runs the output head over 126k / 152k ids, so the body's width is the tier's cost
    write_standins(root, hidden=8, layers=1, heads=2)
    return root


@pytest.fixture
def paper_env(standins: Path, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("TIE_MODELS_DIR", str(standins))
    monkeypatch.setenv("TIE_DATA_DIR", str(paper_helpers.FIXTURES))
    monkeypatch.setenv("TIE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for calls in paper_helpers.CALLS.values():
        calls.clear()
    torch.manual_seed(0)
    return standins
