"""Shared fixtures for the analysis tests: the repo root on sys.path and the fixture runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `analysis/` is a top-level package, not installed
    sys.path.insert(0, str(ROOT))

FIXTURE_RUNS = ROOT / "tests" / "fixtures" / "runs"


@pytest.fixture
def fixture_runs() -> Path:
    return FIXTURE_RUNS
