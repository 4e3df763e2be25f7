"""Fixtures shared by every test folder; the fakes themselves live in `tests/fakes.py`.

This file also puts `tests/` on `sys.path` (pytest's default `prepend` import mode inserts the
folder of a rootless conftest), which is what lets every folder `from fakes import ...`.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny_members() -> list:
    """Three tiny random members through the real decoder (blocks of 4): `llada` and `dream` have
    different tokenizers (cross-tokenizer relay and scoring), `llada2` shares `llada`'s (id copy).
    Imports stay inside: every test session loads this file, most need no model code."""
    from fakes import tiny_backend

    from tie.decoding import DecodeConfig
    from tie.ensemble import Constituent

    cfg = DecodeConfig(block_length=4, rounding="ceil")
    return [
        Constituent("llada", tiny_backend("llada", "a", 0, "llada"), cfg),
        Constituent("dream", tiny_backend("dream", "b", 1, "dream"), cfg),
        Constituent("llada2", tiny_backend("llada", "a", 2, "llada2"), cfg),
    ]
