"""Shared fixtures of the task tests: fixture paths and an offline hub."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"


@pytest.fixture(autouse=True)
def _offline_hub(monkeypatch):
    """Tests never reach the hub: loaders must use the fixture files or fail clearly."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
