"""The decoder asking for window-only logits (`span`) decodes exactly as with full logits."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from fakes import SpanlessBackend, make_scripted_backend
from tie_decoding_helpers import random_prompts

from tie.decoding import DecodeConfig, Decoder, build_canvas
from tie.decoding.decoder import SPAN_MIN_VOCAB


def fresh(backend, lengths=(4, 7, 5), reasoning=17, answer=8):
    prompts = random_prompts(backend, list(lengths), seed=1)
    return build_canvas(backend, prompts, reasoning, "Answer:", answer)


def run_both(backend, cfg, state_fn):
    """(state, signals) decoded with span off and on, plus the spans the backend was asked for."""
    out, asked = [], []
    real = backend.logits

    def spy(input_ids, attention_mask=None, span=None):
        asked.append(span)
        return real(input_ids, attention_mask, span=span)

    for span in (False, True):
        state, sigs = state_fn(), []
        if span:
            backend.logits = spy
        try:
            Decoder(backend, cfg, span=span).run(
                state, hook=lambda st, s, sigs=sigs: sigs.append(s)
            )
        finally:
            backend.logits = real
        out.append((state, sigs))
    return out, asked


@pytest.mark.parametrize(
    "policy,steps,rounding", [("low_confidence", 24, "strict"), ("low_confidence", None, "ceil"),
                              ("margin", None, "strict"), ("dream", 24, "strict"),
                              ("threshold", None, "strict"), ("topk", None, "ceil")],
)  # fmt: skip
def test_span_decodes_identically(backend, policy, steps, rounding):
    block = 8 if rounding == "strict" else 7
    cfg = DecodeConfig(block_length=block, steps=steps, policy=policy, k=3, rounding=rounding)
    (whole, s_whole), (part, s_part) = run_both(backend, cfg, lambda: fresh(backend))[0]
    assert torch.equal(whole.x, part.x) and torch.equal(whole.nfe, part.nfe)
    assert len(s_whole) == len(s_part)
    for a, b in zip(s_whole, s_part, strict=True):
        assert torch.equal(a.committed, b.committed) and torch.equal(a.answer_top1, b.answer_top1)
        torch.testing.assert_close(b.top1_prob, a.top1_prob, rtol=0, atol=0, equal_nan=True)
        torch.testing.assert_close(b.entropy, a.entropy, rtol=0, atol=0, equal_nan=True)


def test_span_covers_the_window_and_the_answer_only(backend):
    cfg = DecodeConfig(block_length=8, steps=24)
    state = fresh(backend)
    gen0, (_, a1), total = state.layout.gen_start, state.layout.answer, state.layout.total_len
    _, asked = run_both(backend, cfg, lambda: fresh(backend))
    assert asked[0] == (gen0, a1) and a1 == total  # first step: block 0 up to the answer
    assert all(lo >= gen0 and hi == total for lo, hi in asked)
    assert asked[-1][0] > gen0  # later steps drop the decoded blocks


def test_span_auto_only_for_large_vocabularies():
    small = make_scripted_backend("a", seed=0)
    assert not Decoder(small).span and Decoder(small, span=True).span
    big = make_scripted_backend("a", seed=0)
    big.info = replace(big.info, vocab_size=SPAN_MIN_VOCAB)  # what `auto` reads
    assert Decoder(big).span and not Decoder(big, span=False).span
    assert not Decoder(SpanlessBackend(big)).span  # its logits predate `span=`


@pytest.mark.parametrize("rounding,block", [("strict", 8), ("ceil", 7)])
def test_block_tracking_is_the_same_with_span_logits(backend, rounding, block):
    """The block signals (the window's top-1, its probabilities, the open slots) come out alike
    whether the head ran over the whole canvas or the span."""
    cfg = DecodeConfig(block_length=block, rounding=rounding)
    runs = []
    for span in (False, True):
        dec, state, sigs = Decoder(backend, cfg, span=span), fresh(backend), []
        scored = dec.answer_signals(state.x, state.attention_mask, state.layout, block=True)
        dec.run(state, hook=lambda st, s, sigs=sigs: sigs.append(s), block=True)
        runs.append([scored] + sigs)
    for a, b in zip(*runs, strict=True):
        for name in ("block_pos", "block_x", "block_open", "block_top1"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        torch.testing.assert_close(b.block_p1, a.block_p1, rtol=0, atol=1e-6, equal_nan=True)
