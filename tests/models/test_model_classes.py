"""Tiny LLaDA / Dream classes: save/load round trip, Auto registration, padding behaviour."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModel

from tie.models import DreamConfig, DreamModel, LLaDAConfig, LLaDAModelLM

torch.set_num_threads(1)


def tiny_llada(**kw) -> LLaDAModelLM:
    torch.manual_seed(0)
    cfg = dict(d_model=32, n_heads=4, n_kv_heads=2, n_layers=2, mlp_hidden_size=64, vocab_size=64)
    cfg.update(kw)
    return LLaDAModelLM(LLaDAConfig(rope_theta=500000.0, **cfg)).eval()


def tiny_dream(**kw) -> DreamModel:
    torch.manual_seed(0)
    cfg = dict(
        hidden_size=32,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_hidden_layers=2,
        intermediate_size=64,
        vocab_size=64,
    )
    cfg.update(kw)
    return DreamModel(DreamConfig(**cfg)).eval()


@pytest.mark.parametrize("make", [tiny_llada, tiny_dream])
def test_save_load_round_trip_via_auto(make, tmp_path):
    model = make()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is type(model)
    assert AutoConfig.from_pretrained(tmp_path).model_type == model.config.model_type
    ids = torch.randint(0, 64, (2, 9))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, loaded(ids).logits)


@pytest.mark.parametrize("make", [tiny_llada, tiny_dream])
def test_tied_output_head_round_trip(make, tmp_path):
    key = "weight_tying" if make is tiny_llada else "tie_word_embeddings"
    model = make(**{key: True})
    names = set(model.state_dict())
    assert not any(n.endswith("ff_out.weight") and "blocks" not in n for n in names)
    assert "lm_head.weight" not in names
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).eval()
    ids = torch.randint(0, 64, (1, 5))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, loaded(ids).logits)


@pytest.mark.parametrize("make", [tiny_llada, tiny_dream])
def test_bidirectional_attention(make):
    """Changing the last token changes the logits at position 0 (no causal mask)."""
    model = make()
    ids = torch.randint(0, 60, (1, 6))
    other = ids.clone()
    other[0, -1] = (ids[0, -1] + 1) % 60
    with torch.no_grad():
        assert not torch.allclose(model(ids).logits[0, 0], model(other).logits[0, 0])


@pytest.mark.parametrize("make", [tiny_llada, tiny_dream])
def test_pad_rows_finite_and_bf16_autocast(make):
    model = make()
    ids = torch.randint(0, 64, (2, 6))
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    with torch.no_grad():
        assert torch.isfinite(model(ids, attention_mask=mask).logits).all()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(ids, attention_mask=mask).logits
    assert torch.isfinite(out).all()


def test_llada_rejects_position_ids():
    with pytest.raises(ValueError, match="position_ids"):
        tiny_llada()(torch.zeros(1, 3, dtype=torch.long), position_ids=torch.arange(3)[None])


def test_unsupported_config_variants_are_named():
    with pytest.raises(ValueError, match="activation_type"):
        LLaDAConfig(d_model=32, n_heads=4, activation_type="gelu")
    with pytest.raises(ValueError, match="n_kv_heads"):
        LLaDAConfig(d_model=32, n_heads=4, n_kv_heads=3)
    with pytest.raises(ValueError, match="num_key_value_heads"):
        DreamConfig(hidden_size=32, num_attention_heads=4, num_key_value_heads=3)


def _attend_repeated(q, k, v, mask):
    """`attend` as it was: K/V heads repeated explicitly (the reference for grouped heads)."""
    repeat = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    b, h, length, d = out.shape
    return out.transpose(1, 2).reshape(b, length, h * d)


@pytest.mark.parametrize("padded", [False, True])
def test_gqa_attend_equals_explicit_repeat(padded):
    from tie.models.layers import attend, key_padding_mask

    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 8, 7, 16, generator=g)
    k, v = torch.randn(2, 2, 7, 16, generator=g), torch.randn(2, 2, 7, 16, generator=g)
    am = torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1] * 7]) if padded else torch.ones(2, 7)
    mask = key_padding_mask(am)
    assert (mask is None) is not padded
    got = attend(q, k, v, mask)
    torch.testing.assert_close(got, _attend_repeated(q, k, v, mask), rtol=0, atol=1e-6)


@pytest.mark.parametrize("module", ["tie.models.llada", "tie.models.dream"])
def test_gqa_model_logits_equal_explicit_repeat(module, monkeypatch):
    make = tiny_llada if module.endswith("llada") else tiny_dream
    model = make()  # 4 query heads over 2 KV heads
    ids = torch.randint(0, 64, (2, 9), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[0, :3] = 0
    with torch.no_grad():
        ours = [model(ids).logits, model(ids, attention_mask=mask).logits]
        # both families attend through `layers.self_attention`
        monkeypatch.setattr("tie.models.layers.attend", _attend_repeated)
        ref = [model(ids).logits, model(ids, attention_mask=mask).logits]
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
