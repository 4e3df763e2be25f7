"""Every bad decoding input fails with a clear error before any forward pass."""

import pytest
import torch
from fakes import ScriptedBackend, make_scripted_backend, make_tokenizer
from tie_decoding_helpers import random_prompts

from tie.decoding import DecodeConfig, DecodeInputError, Decoder, build_canvas, generate


def no_forward(*_):
    raise AssertionError("a forward pass ran before validation")


@pytest.fixture
def guarded() -> ScriptedBackend:
    return ScriptedBackend(no_forward, max_length=64)


def test_gen_length_not_divisible_by_block(guarded):
    ids = torch.tensor([[5, 6, 7]])
    with pytest.raises(DecodeInputError, match="not divisible by block_length"):
        generate(guarded, ids, gen_length=30, config=DecodeConfig(block_length=8, steps=30))


def test_steps_not_divisible_by_blocks(guarded):
    with pytest.raises(DecodeInputError, match="not divisible by the number of blocks"):
        generate(
            guarded,
            torch.tensor([[5, 6]]),
            gen_length=32,
            config=DecodeConfig(block_length=8, steps=10),
        )


def test_layout_not_divisible_with_suffix_fails_at_run(guarded):
    state = build_canvas(guarded, [[5, 6]], 10, "Answer:", 4)  # G = 21
    with pytest.raises(DecodeInputError, match="generation length 21"):
        Decoder(guarded, DecodeConfig(block_length=8)).run(state, 1)


def test_rounding_ceil_allows_partial_last_block(backend):
    cfg = DecodeConfig(block_length=8, steps=10, rounding="ceil")
    out = generate(backend, torch.tensor([[5, 6, 7]]), gen_length=30, config=cfg)
    assert out.shape == (1, 33) and (out != backend.mask_id).all()


def test_empty_suffix_after_tokenisation(guarded):
    with pytest.raises(DecodeInputError, match="empty after tokenisation"):
        build_canvas(guarded, [[5, 6]], 8, "", 8)


def test_prompt_longer_than_context(guarded):
    with pytest.raises(DecodeInputError, match="row 1 has 70 tokens, longer than the context"):
        build_canvas(guarded, [[5] * 3, [6] * 70], 8)
    with pytest.raises(DecodeInputError, match="longer than the context"):
        generate(
            guarded,
            torch.full((1, 70), 5),
            gen_length=8,
            config=DecodeConfig(block_length=8, steps=8),
        )


def test_canvas_longer_than_context(guarded):
    with pytest.raises(DecodeInputError, match="exceeds the context"):
        build_canvas(guarded, [[5] * 60], 8)


def test_tokenizer_without_mask_token():
    tok = make_tokenizer("a")
    be = ScriptedBackend(no_forward, tokenizer=tok)
    be.mask_id = None  # as a backend whose tokenizer defines no mask token
    with pytest.raises(DecodeInputError, match="no mask token"):
        build_canvas(be, [[5]], 8)
    with pytest.raises(DecodeInputError, match="no mask token"):
        Decoder(be, DecodeConfig())
    with pytest.raises(DecodeInputError, match="no mask token"):
        generate(be, torch.tensor([[5]]), gen_length=8)


def test_prompt_containing_mask_id(guarded):
    with pytest.raises(DecodeInputError, match="contains the mask id"):
        build_canvas(guarded, [[5, guarded.mask_id]], 8)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"policy": "greedy"}, "unknown policy"),
        ({"block_length": 0}, "block_length"),
        ({"steps": 0}, "steps"),
        ({"temperature": -1.0}, "temperature"),
        ({"threshold": 1.5}, "threshold"),
        ({"k": 0}, "k must be"),
        ({"eos_answer_cap": 0}, "eos_answer_cap"),
        ({"rounding": "floor"}, "rounding"),
        ({"policy": "dream", "top_p": 0.0}, "top_p must be"),
        ({"policy": "dream", "top_k": 0}, "top_k must be"),
        ({"policy": "dream", "alg_temp": -1.0}, "alg_temp must be"),
        ({"top_p": 0.9}, "top_p apply to the Dream policies"),
        ({"policy": "threshold", "top_k": 5, "alg_temp": 0.5}, "top_k, alg_temp apply"),
    ],
)
def test_bad_config_values(kwargs, match):
    with pytest.raises(DecodeInputError, match=match):
        DecodeConfig(**kwargs)


def test_state_of_another_backend_rejected(backend):
    other = make_scripted_backend("b")
    state = build_canvas(backend, random_prompts(backend, [3]), 8)
    with pytest.raises(DecodeInputError, match="mask id"):
        Decoder(other, DecodeConfig(block_length=8)).step(state)


def test_replace_rows_needs_same_layout(backend):
    a = build_canvas(backend, random_prompts(backend, [3, 4]), 8)
    b = build_canvas(backend, random_prompts(backend, [3, 4]), 16)
    with pytest.raises(DecodeInputError, match="same layout"):
        a.replace_rows([0], b)
    with pytest.raises(DecodeInputError, match="out of range"):
        a.replace_rows([5], a.clone())
