"""The `hf_remote` backend: loads a checkpoint that carries its own code (trust_remote_code)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from tie_models_helpers import make_tokenizer
from transformers import AutoConfig, AutoModel

from tie.models import load_backend
from tie.models.checkpoint import CheckpointError

FIXTURE = Path(__file__).parent / "fixtures" / "remote_tiny_dream"


@pytest.fixture(scope="module")
def remote_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("remote") / "tiny-remote-dream"
    shutil.copytree(FIXTURE, path)
    tok = make_tokenizer("dream")
    config = AutoConfig.from_pretrained(path, trust_remote_code=True)
    config.mask_token_id = tok.mask_token_id
    torch.manual_seed(0)
    model = AutoModel.from_config(config, trust_remote_code=True)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_remote_code_is_used(remote_dir):
    backend = load_backend({"path": str(remote_dir), "backend": "hf_remote"})
    assert type(backend.model).__name__ == "TinyDreamModel"
    assert backend.info.family == "dream" and backend.info.extra["backend"] == "hf_remote"
    assert backend.mask_id == backend.tokenizer.mask_token_id


def test_remote_logits_aligned(remote_dir):
    backend = load_backend({"path": str(remote_dir), "backend": "hf_remote"})
    reference = AutoModel.from_pretrained(remote_dir, trust_remote_code=True).eval()
    ids = torch.randint(0, 100, (2, 6))
    with torch.no_grad():
        raw = reference(ids).logits
    got = backend.logits(ids)
    assert torch.equal(got[:, 1:], raw[:, :-1]) and torch.equal(got[:, 0], raw[:, 0])


def test_remote_left_padding(remote_dir):
    """Pairwise mask + position ids from the mask: padded row equals the row alone, no NaN."""
    backend = load_backend({"path": str(remote_dir), "backend": "hf_remote"})
    ids = torch.randint(0, 100, (1, 5))
    alone = backend.logits(ids)
    padded = torch.cat([torch.full((1, 3), backend.pad_id), ids], dim=1)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1]])
    batch = torch.cat([padded, torch.randint(0, 100, (1, 8))])
    out = backend.logits(batch, torch.cat([mask, torch.ones_like(mask)]))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0, 4:], alone[0, 1:], atol=1e-5, rtol=0)


def test_native_backend_refuses_foreign_checkpoint(remote_dir, tmp_path):
    """Our Dream class cannot take this config, and with a usable config not these tensors."""
    with pytest.raises(ValueError, match="Dream config"):
        load_backend(remote_dir)
    path = tmp_path / "foreign"
    shutil.copytree(remote_dir, path)
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(num_attention_heads=4, num_hidden_layers=1, intermediate_size=32)
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"missing.*'model\.embed_tokens\.weight'"):
        load_backend(path)
