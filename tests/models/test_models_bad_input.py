"""Every loader / backend error is raised before compute and names the problem."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from tie_models_helpers import make_model, save_checkpoint

from tie.models import load_backend
from tie.models.checkpoint import CheckpointError


@pytest.fixture
def copy_of(tmp_path):
    def _copy(src):
        dst = tmp_path / "ckpt"
        shutil.copytree(src, dst)
        return dst

    return _copy


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_backend(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("config.json", "config.json"),
        ("model.safetensors", "model.safetensors"),
        ("tokenizer.json", "tokenizer"),
    ],
)
def test_missing_file_is_named(copy_of, llada_dir, remove, named):
    path = copy_of(llada_dir)
    (path / remove).unlink()
    if remove == "tokenizer.json":
        (path / "tokenizer_config.json").unlink()
    with pytest.raises(CheckpointError, match=named):
        load_backend(path)


def test_missing_shard_is_named(copy_of, llada_dir):
    path = copy_of(llada_dir)
    tensors = load_file(path / "model.safetensors")
    names = sorted(tensors)
    half = len(names) // 2
    save_file({k: tensors[k] for k in names[:half]}, path / "model-00001-of-00002.safetensors")
    (path / "model.safetensors").unlink()
    weight_map = {
        k: f"model-0000{1 if i < half else 2}-of-00002.safetensors" for i, k in enumerate(names)
    }
    (path / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map})
    )
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors"):
        load_backend(path)
    save_file({k: tensors[k] for k in names[half:]}, path / "model-00002-of-00002.safetensors")
    backend = load_backend(path)  # the complete sharded checkpoint loads
    reference = load_backend(llada_dir)
    ids = torch.randint(0, 100, (1, 6))
    assert torch.equal(backend.logits(ids), reference.logits(ids))


def test_shape_mismatch_names_first_key_and_both_shapes(copy_of, llada_dir):
    path = copy_of(llada_dir)
    tensors = load_file(path / "model.safetensors")
    key = "model.transformer.blocks.1.up_proj.weight"
    tensors[key] = torch.zeros(48, 32)
    tensors["model.transformer.blocks.1.ff_proj.weight"] = torch.zeros(48, 32)
    save_file(tensors, path / "model.safetensors")
    # blocks.1.ff_proj comes before up_proj in model order: it is the first bad key.
    with pytest.raises(CheckpointError) as err:
        load_backend(path)
    msg = str(err.value)
    assert "model.transformer.blocks.1.ff_proj.weight" in msg
    assert "(48, 32)" in msg and "(64, 32)" in msg


def test_missing_and_unexpected_tensors(copy_of, dream_dir):
    path = copy_of(dream_dir)
    tensors = load_file(path / "model.safetensors")
    del tensors["model.norm.weight"]
    save_file(tensors, path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"missing.*'model\.norm\.weight'"):
        load_backend(path)
    tensors["model.norm.weight"] = torch.ones(32)
    tensors["model.extra.weight"] = torch.ones(3)
    save_file(tensors, path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"unexpected.*'model\.extra\.weight'"):
        load_backend(path)


def test_checkpoint_of_another_size(tmp_path, llada_dir):
    """A config that disagrees with the weights (e.g. wrong d_model) fails on the first tensor."""
    path = tmp_path / "big"
    shutil.copytree(llada_dir, path)
    cfg = json.loads((path / "config.json").read_text())
    cfg["d_model"] = 64
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"'model\.transformer\.wte\.weight'.*\(128, 32\)"):
        load_backend(path)


def test_tokenizer_without_mask_token(tmp_path):
    path = save_checkpoint(tmp_path, "dream", tokenizer_mask=False, config_mask=False)
    (path / "model.safetensors").write_bytes(b"not read")  # raised before the weights are read
    with pytest.raises(ValueError, match="no mask token"):
        load_backend(path)


def test_bad_spec_values(llada_dir):
    with pytest.raises(ValueError, match="unknown backend 'onnx'"):
        load_backend({"path": str(llada_dir), "backend": "onnx"})
    with pytest.raises(ValueError, match="unknown family 'gpt'"):
        load_backend({"path": str(llada_dir), "family": "gpt"})
    with pytest.raises(ValueError, match="no 'path'"):
        load_backend({"family": "llada"})
    with pytest.raises(TypeError, match="backend spec"):
        load_backend(42)
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        load_backend(llada_dir, dtype="int8")


def test_logits_input_checks(llada_dir):
    backend = load_backend(llada_dir)
    with pytest.raises(ValueError, match=r"\[B, L\]"):
        backend.logits(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask shape"):
        backend.logits(torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 3))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        backend.logits(torch.full((1, 4), 500))
    with pytest.raises(ValueError, match="exceeds max_length 4096"):
        backend.logits(torch.zeros(1, 4097, dtype=torch.long))
    with pytest.raises(ValueError, match=r"outside the vocabulary .*min -1"):
        backend.logits(torch.tensor([[1, -1, 2]]), torch.tensor([[0, 1, 1]]))
    with pytest.raises(ValueError, match=r"outside the vocabulary .*max 500"):
        backend.logits(torch.tensor([[1, 500, 2]]), torch.ones(1, 3, dtype=torch.bool))


def test_logits_full_mask_is_the_unmasked_path(llada_dir):
    backend = load_backend(llada_dir)
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 12]])
    plain = backend.logits(ids)
    for mask in (torch.ones(2, 4), torch.ones(2, 4, dtype=torch.bool), torch.ones_like(ids)):
        assert backend._check_inputs(ids, mask) is None
        assert torch.equal(backend.logits(ids, mask), plain)
    padded = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])
    assert backend._check_inputs(ids, padded) is padded
    empty = torch.zeros(0, 4, dtype=torch.long)
    assert backend._check_inputs(empty, None) is None
    assert backend._check_inputs(empty, torch.zeros(0, 4)) is None


def test_unsupported_config_variant_named(copy_of, llada_dir):
    path = copy_of(llada_dir)
    cfg = json.loads((path / "config.json").read_text())
    cfg["activation_type"] = "gelu"
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="activation_type='gelu'"):
        load_backend(path)


def test_fixture_model_helper_is_deterministic():
    a, b = make_model("dream"), make_model("dream")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("keep", [0.5, 0.999, 0.0001])
def test_truncated_safetensors_file_is_named(copy_of, llada_dir, keep):
    """A download cut short (weights, header, or almost everything): one CheckpointError naming
    the file, raised from the header check before any weights are read."""
    path = copy_of(llada_dir)
    weights = path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: max(1, int(len(data) * keep))])
    with pytest.raises(
        CheckpointError, match=r"model\.safetensors is not a readable safetensors"
    ) as err:
        load_backend(path)
    assert str(weights) in str(err.value) and "\n" not in str(err.value)
