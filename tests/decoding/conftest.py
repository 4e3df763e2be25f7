"""Fixtures of the decoding tests."""

import pytest
import torch
from fakes import ScriptedBackend, make_scripted_backend

torch.set_num_threads(1)


@pytest.fixture
def backend() -> ScriptedBackend:
    """Tokenizer variant "a" with the seeded, left-padding-invariant pseudo-model."""
    return make_scripted_backend("a", seed=0)
