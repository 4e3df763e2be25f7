"""`decoding.cache=prefix|dual` in the decoder (issue 23): same forwards, exact where it must be,
refreshed on every external write, refused where no cache exists."""

from __future__ import annotations

import pytest
import torch
from fakes import make_scripted_backend
from tie_models_helpers import layered_backend

from tie.decoding import DecodeConfig, Decoder, build_canvas
from tie.decoding.config import DecodeInputError
from tie.models import TransformersBackend

TEXTS = ("2+3=", "what is 12+30?", "7")  # different prompt lengths: left padding


def backend(family: str, layers: int = 2) -> TransformersBackend:
    return layered_backend(family, layers, seed=1)


def fresh_state(b, reasoning: int = 14, answer: int = 3):
    return build_canvas(b, [b.chat_prompt(t) for t in TEXTS], reasoning, "Answer:", answer)


def decode(b, cfg: DecodeConfig):
    state, sigs = fresh_state(b), []
    Decoder(b, cfg).run(state, hook=lambda st, s: sigs.append(s))
    return state, sigs


@pytest.mark.parametrize("family", ["llada", "dream"])
@pytest.mark.parametrize("mode", ["prefix", "dual"])
@pytest.mark.parametrize("policy", ["low_confidence", "threshold"])
def test_one_layer_cached_decoding_is_token_identical(family, mode, policy):
    """One layer: the cache is exact (tests/models/test_kv_cache.py), so decoding, signals and
    forwards match `none` exactly, with left padding, an answer region, signals on, a shorter last
    block, and (threshold) rows that move through blocks at their own pace."""
    b = backend(family, layers=1)
    base = DecodeConfig(block_length=4, policy=policy, threshold=0.2, rounding="ceil")
    (x0, s0), (x1, s1) = decode(b, base), decode(b, DecodeConfig(**{**vars(base), "cache": mode}))
    assert torch.equal(x0.x, x1.x) and torch.equal(x0.nfe, x1.nfe)
    assert len(s0) == len(s1)
    for a, c in zip(s0, s1, strict=True):
        assert torch.equal(a.answer_top1, c.answer_top1) and torch.equal(a.committed, c.committed)
        torch.testing.assert_close(c.top1_prob, a.top1_prob, rtol=1e-4, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("family", ["llada", "dream"])
@pytest.mark.parametrize("mode", ["prefix", "dual"])
def test_deeper_cached_decoding_refreshes_once_per_block(family, mode):
    """Two layers: the same number of forwards as `none`; the cache is rebuilt (a full forward)
    at each block's first step and read at every other step; a finished state frees it."""
    b = backend(family, layers=2)
    cfg = DecodeConfig(block_length=4, rounding="ceil", cache=mode)
    state, seen = fresh_state(b), []
    Decoder(b, cfg).run(
        state, hook=lambda st, s: seen.append((st.cache.refreshed_rows, st.cache.reused_rows))
    )
    none = fresh_state(b)
    Decoder(b, DecodeConfig(block_length=4, rounding="ceil")).run(none)
    assert torch.equal(state.nfe, none.nfe) and not (state.x == b.mask_id).any()
    steps, rows = int(state.nfe[0]), state.batch_size
    start = fresh_state(b)
    masked = (start.x[0, start.layout.gen_start :] == b.mask_id).nonzero().squeeze(1)
    blocks = len(torch.unique(masked // 4))  # blocks holding masks (the suffix is written)
    assert seen[-1] == (rows * blocks, rows * (steps - blocks))
    assert state.cache is None


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_external_writes_make_the_rows_recompute(family):
    b = backend(family, layers=2)
    dec = Decoder(b, DecodeConfig(block_length=8, rounding="ceil", cache="dual"))
    state = fresh_state(b)
    calls = []
    real = b.logits

    def spy(input_ids, attention_mask=None, span=None, cache=None):
        calls.append(input_ids.clone())
        return real(input_ids, attention_mask, span=span, cache=cache)

    b.logits = spy
    try:
        dec.step(state)
        dec.step(state)
        c = state.cache
        assert (c.refreshed_rows, c.reused_rows) == (3, 3) and len(calls) == 1
        # a write into row 0's cached region (its prompt): row 0 alone runs a full forward
        p0 = int(state.attention_mask[0].nonzero()[0])
        state.x[0, p0] = (state.x[0, p0] + 1) % 50
        dec.step(state)
        assert (c.refreshed_rows, c.reused_rows) == (4, 5)
        assert len(calls) == 2 and calls[-1].shape[0] == 1
        # a relay (set_canvas_rows, replace_rows) invalidates its rows even inside the block
        state.set_canvas_rows([1], state.x[1:2].clone())
        dec.step(state)
        assert (c.refreshed_rows, c.reused_rows) == (5, 7)
        other = state.clone()
        assert other.cache is None  # a clone rebuilds its own cache
        state.replace_rows([2], other)
        dec.step(state)
        assert (c.refreshed_rows, c.reused_rows) == (6, 9)
        state.invalidate_cache()
        assert state.cache is None
    finally:
        b.logits = real


def test_a_backend_without_a_kv_cache_is_refused_before_any_forward():
    scripted = make_scripted_backend("a", seed=0)
    with pytest.raises(DecodeInputError, match="decoding.cache=prefix needs a backend"):
        Decoder(scripted, DecodeConfig(cache="prefix"))
    with pytest.raises(DecodeInputError, match="cache must be one of"):
        DecodeConfig(cache="full")
    assert DecodeConfig().cache == "none"


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_generate_takes_the_cache_option(family):
    """`generate(cache=)` (what `tie-run mode=decode decode_canvas=plain` calls): exact on one
    layer, left padding included."""
    from tie.decoding import generate

    b = backend(family, layers=1)
    prompts = [b.chat_prompt(t) for t in TEXTS]
    width = max(map(len, prompts))
    ids = torch.tensor([[b.pad_id] * (width - len(p)) + p for p in prompts])
    am = (
        torch.arange(width)[None] >= torch.tensor([width - len(p) for p in prompts])[:, None]
    ).long()
    exact = generate(b, ids, am, gen_length=12, config=DecodeConfig(block_length=4))
    for mode in ("prefix", "dual"):
        assert torch.equal(
            generate(b, ids, am, gen_length=12, config=DecodeConfig(block_length=4, cache=mode)),
            exact,
        )
