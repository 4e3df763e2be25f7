"""`logits(..., span=)`: the same numbers as the full logits, with the head run only on the span."""

from __future__ import annotations

import pytest
import torch
from fakes import SpanlessBackend
from tie_models_helpers import VOCAB_SIZE

from tie.models import load_backend
from tie.models.backend import accepts_span, logits_span


def head_of(backend) -> torch.nn.Module:
    model = backend.model
    return model.lm_head if backend.info.family == "dream" else model.model.transformer.ff_out


@pytest.mark.parametrize("span", [(0, 1), (0, 5), (3, 7), (9, 10), (0, 10)])
def test_span_equals_the_slice_of_full_logits(family_dir, span):
    _, path = family_dir
    backend = load_backend(path)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, VOCAB_SIZE, (2, 10), generator=g)
    am = torch.ones_like(ids)
    am[0, :3] = 0  # a left-padded row
    full = backend.logits(ids, am)
    seen = []
    hook = head_of(backend).register_forward_hook(lambda m, a, o: seen.append(a[0].shape[1]))
    try:
        part = backend.logits(ids, am, span=span)
    finally:
        hook.remove()
    lo, hi = span
    assert part.shape == (2, hi - lo, VOCAB_SIZE) and part.dtype == torch.float32
    torch.testing.assert_close(part, full[:, lo:hi], rtol=1e-5, atol=1e-6)
    # the head saw only the span (a shifted family reads raw outputs lo-1..hi-2; position 0
    # is a dummy copy of raw output 0)
    expected = hi - lo if backend.info.family == "llada" or lo > 0 else max(hi - 1, 1)
    assert seen == [expected]


@pytest.mark.parametrize("span", [(5, 5), (-1, 3), (0, 11), (7, 2)])
def test_bad_span_is_named(llada_dir, span):
    backend = load_backend(llada_dir)
    with pytest.raises(ValueError, match="logits span"):
        backend.logits(torch.zeros(1, 10, dtype=torch.long), span=span)


def test_logits_span_slices_for_backends_without_the_argument(llada_dir):
    backend = load_backend(llada_dir)

    ids = torch.randint(0, VOCAB_SIZE, (1, 10))
    assert accepts_span(backend) and not accepts_span(SpanlessBackend(backend))
    assert torch.equal(
        logits_span(SpanlessBackend(backend), ids, None, (2, 6)), backend.logits(ids)[:, 2:6]
    )
    with pytest.raises(ValueError, match="logits span"):
        logits_span(SpanlessBackend(backend), ids, None, (6, 2))


def test_decoder_with_span_on_both_families(family_dir):
    from tie.decoding import DecodeConfig, Decoder, build_canvas

    backend = load_backend(family_dir[1])
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(5, VOCAB_SIZE - 5, (n,), generator=g).tolist() for n in (3, 6)]
    cfg = DecodeConfig(block_length=4, steps=12)
    out = []
    for span in (False, True):
        state = build_canvas(backend, prompts, 10, None, 2)
        out.append(Decoder(backend, cfg, span=span).run(state).x)
    assert torch.equal(out[0], out[1])
