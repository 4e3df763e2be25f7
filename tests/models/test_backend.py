"""load_backend on tiny checkpoints: identical logits, alignment, padding, specials, templates."""

from __future__ import annotations

import pytest
import torch
from tie_models_helpers import VOCAB_SIZE, make_model, save_checkpoint
from transformers import AutoModel

from tie.models import MDLMBackend, load_backend


def test_round_trip_identical_logits(family_dir):
    family, path = family_dir
    backend = load_backend(path)
    assert isinstance(backend, MDLMBackend)
    assert backend.info.family == family and backend.info.shift == (family == "dream")
    assert backend.device == torch.device("cpu") and backend.dtype == torch.float32
    reference = AutoModel.from_pretrained(path).eval()
    ids = torch.randint(0, VOCAB_SIZE, (2, 10))
    got = backend.logits(ids)
    assert got.dtype == torch.float32 and got.shape == (2, 10, VOCAB_SIZE)
    with torch.no_grad():
        raw = reference(ids).logits
    if family == "llada":
        assert torch.equal(got, raw)
    else:
        assert torch.equal(got[:, 1:], raw[:, :-1])


def test_dream_shift_alignment(dream_dir):
    """Aligned position i is the raw output at i-1; position 0 is the documented dummy."""
    backend = load_backend(dream_dir)
    ids = torch.randint(0, VOCAB_SIZE, (1, 8))
    with torch.no_grad():
        raw = backend.model(ids).logits
    aligned = backend.logits(ids)
    for i in range(1, 8):
        assert torch.equal(aligned[0, i], raw[0, i - 1])
    assert torch.equal(aligned[0, 0], raw[0, 0])


def test_dream_shift_perfect_next_token_model(dream_dir):
    """A raw model that puts token j+1 on output j reads back as "position i predicts token i"."""
    backend = load_backend(dream_dir)
    ids = torch.randint(0, VOCAB_SIZE, (2, 9))

    class NextToken(torch.nn.Module):
        def forward(self, input_ids, attention_mask=None):
            out = torch.full((*input_ids.shape, VOCAB_SIZE), -5.0)
            out.scatter_(-1, input_ids.roll(-1, dims=1)[..., None], 5.0)
            return type("Out", (), {"logits": out})()

    backend.model = NextToken()
    assert torch.equal(backend.logits(ids).argmax(-1)[:, 1:], ids[:, 1:])


@pytest.mark.parametrize("pad", [1, 4])
def test_left_padding_invariance(family_dir, pad):
    family, path = family_dir
    backend = load_backend(path)
    ids = torch.randint(0, VOCAB_SIZE, (1, 7))
    alone = backend.logits(ids)
    padded = torch.cat([torch.full((1, pad), backend.pad_id), ids], dim=1)
    mask = torch.cat([torch.zeros(1, pad, dtype=torch.long), torch.ones(1, 7, dtype=torch.long)], 1)
    batch = torch.cat([padded, torch.cat([ids, ids[:, :pad]], dim=1)])
    batch_mask = torch.cat([mask, torch.ones_like(mask)])
    out = backend.logits(batch, batch_mask)
    assert torch.isfinite(out).all()
    real = out[0, pad:]
    if family == "dream":  # first real position holds the dummy of the unpadded row's position 0
        torch.testing.assert_close(real[1:], alone[0, 1:], atol=1e-5, rtol=0)
    else:
        torch.testing.assert_close(real, alone[0], atol=1e-5, rtol=0)


def test_specials_llada(llada_dir):
    backend = load_backend(llada_dir)
    vocab = backend.tokenizer.get_vocab()
    assert backend.tokenizer.mask_token_id is None  # as in the real LLaDA tokenizer
    assert backend.mask_id == vocab["<|mdm_mask|>"]
    assert set(backend.eos_ids) == {vocab["<|endoftext|>"], vocab["<|eot_id|>"]}
    assert backend.max_length == 4096


def test_specials_dream(dream_dir):
    backend = load_backend(dream_dir)
    vocab = backend.tokenizer.get_vocab()
    assert backend.mask_id == vocab["<|mask|>"]
    assert set(backend.eos_ids) == {vocab["<|endoftext|>"], vocab["<|im_end|>"]}
    assert backend.pad_id == vocab["<|endoftext|>"]
    assert backend.max_length == 2048  # documented, below the config's 131072


def test_llada_mask_found_in_vocab_without_config_id(tmp_path):
    path = save_checkpoint(tmp_path, "llada", config_mask=False)
    backend = load_backend(path)
    assert backend.mask_id == backend.tokenizer.get_vocab()["<|mdm_mask|>"]


def test_chat_template_llada(llada_dir):
    backend = load_backend(llada_dir)
    ids = backend.chat_prompt("Hi there", system="Be brief.")
    text = backend.tokenizer.decode(ids)
    assert text == (
        "<|startoftext|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert ids.count(backend.tokenizer.bos_token_id) == 1  # the template's BOS, not doubled


def test_chat_template_dream(dream_dir):
    backend = load_backend(dream_dir)
    text = backend.tokenizer.decode(backend.chat_prompt("2+2?"))
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
    )


def test_zoo_names_and_unknown(tmp_path, monkeypatch, llada_dir):
    import shutil

    shutil.copytree(llada_dir, tmp_path / "tiny-a")
    (tmp_path / "not-a-model").mkdir()
    monkeypatch.setenv("TIE_ZOO_DIR", str(tmp_path))
    from tie.models import list_zoo

    assert list_zoo() == ["tiny-a"]
    backend = load_backend("zoo:tiny-a")
    assert backend.info.name == "zoo:tiny-a" and backend.info.family == "llada"
    with pytest.raises(KeyError, match=r"unknown zoo model 'nope'.*tiny-a") as err:
        load_backend("zoo:nope")
    assert isinstance(err.value, ValueError) and str(err.value).startswith("unknown zoo model")


def test_mapping_spec_with_family_override(tmp_path, dream_dir):
    import json
    import shutil

    path = tmp_path / "renamed"
    shutil.copytree(dream_dir, path)
    cfg = json.loads((path / "config.json").read_text())
    cfg["model_type"], cfg["architectures"] = "something_else", ["Whatever"]
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="cannot tell the model family"):
        load_backend(path)
    backend = load_backend({"path": str(path), "family": "dream", "name": "d"})
    assert backend.info.family == "dream" and backend.info.name == "d"


def test_model_is_checked_identical_to_make_model(llada_dir):
    """The fixture checkpoint is the seeded tiny model (guards the helpers themselves)."""
    backend = load_backend(llada_dir)
    fresh = make_model("llada")
    ids = torch.randint(0, VOCAB_SIZE, (1, 5))
    with torch.no_grad():
        assert torch.equal(backend.logits(ids), fresh(ids).logits)


def test_dream_custom_tokenizer_class_falls_back(tmp_path, dream_dir):
    """Dream ships a remote tokenizer class; the native backend reads the same files as Qwen2's."""
    import json
    import shutil

    path = tmp_path / "dream-custom-tok"
    shutil.copytree(dream_dir, path)
    cfg_path = path / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "DreamTokenizer"
    cfg["auto_map"] = {"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]}
    cfg_path.write_text(json.dumps(cfg))
    backend = load_backend(path)
    reference = load_backend(dream_dir)
    assert "Dream" not in type(backend.tokenizer).__name__
    assert backend.mask_id == reference.mask_id and backend.eos_ids == reference.eos_ids
    assert backend.chat_prompt("hi") == reference.chat_prompt("hi")


def test_dtype_argument(family_dir):
    _, path = family_dir
    backend = load_backend(path, dtype=torch.bfloat16)
    assert backend.dtype == torch.bfloat16
    ids = torch.randint(0, VOCAB_SIZE, (1, 6))
    out = backend.logits(ids)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    torch.testing.assert_close(out, load_backend(path).logits(ids), atol=0.1, rtol=0.1)
    assert load_backend(path, device=None, dtype="bfloat16").dtype == torch.bfloat16
    assert load_backend(path, dtype="auto").dtype == torch.float32
