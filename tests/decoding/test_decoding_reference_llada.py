"""Greedy low-confidence decoding equals LLaDA's reference algorithm, token for token.

The oracle is `tie.bench.reference.llada_reference_generate`, the plain re-implementation of
LLaDA's `generate` that `tie-bench` also times (research/decoders.md section 2): per block, the
quota is fixed at block start (n // spb per step, remainder front-loaded); each step takes one
forward over the whole canvas, the argmax token and its softmax probability, forbids positions past
the block and unmasked positions, and commits the top-quota positions per row. It runs every step,
including zero-quota ones.
"""

import pytest
import torch
from tie_decoding_helpers import random_prompts

from tie.bench.reference import left_pad, llada_reference_generate
from tie.decoding import CanvasLayout, DecodeConfig, Decoder, build_canvas, generate

# the grid plus (30, 10, 12): quota [3, 3, 2, 2] exercises the front-loaded remainder
SETTINGS = [(32, 32, 32), (32, 8, 16), (32, 8, 8), (24, 8, 30), (30, 10, 12)]


@pytest.mark.parametrize("gen,block,steps", SETTINGS)
def test_greedy_low_confidence_matches_reference_on_left_padded_batch(backend, gen, block, steps):
    prompts = random_prompts(backend, [5, 11, 2], seed=gen + block + steps)
    ids, am = left_pad(prompts, backend.pad_id)
    ref, forwards = llada_reference_generate(backend, ids, am, gen, block, steps)
    assert forwards == steps
    ours = generate(
        backend, ids, am, gen_length=gen, config=DecodeConfig(block_length=block, steps=steps)
    )
    assert (ref == backend.mask_id).sum() == 0
    assert torch.equal(ours, ref)


def test_spb_larger_than_block_skips_only_wasted_steps(backend):
    # (24, 8, 30): 10 steps per block of 8 masks -> quota [1]*8 + [0, 0]; the zero-quota steps
    # commit nothing, so we skip their forward passes (same tokens, fewer NFE).
    state = build_canvas(backend, random_prompts(backend, [4, 6]), 24)
    assert state.layout == CanvasLayout.plain(6, 24)
    Decoder(backend, DecodeConfig(block_length=8, steps=30)).run(state)
    assert state.nfe.tolist() == [24, 24]


@pytest.mark.parametrize(
    "policy", ["low_confidence", "margin", "entropy", "dream", "threshold", "topk"]
)
def test_left_padded_batch_equals_rows_decoded_alone(backend, policy):
    prompts = random_prompts(backend, [3, 9, 6], seed=7)
    cfg = DecodeConfig(block_length=8, steps=12, policy=policy)
    batch = build_canvas(backend, prompts, 13, "Answer:", 4)
    Decoder(backend, cfg).run(batch)
    for r, p in enumerate(prompts):
        alone = build_canvas(backend, [p], 13, "Answer:", 4)
        Decoder(backend, cfg).run(alone)
        pad = batch.layout.prompt_len - len(p)
        assert torch.equal(batch.x[r, pad:], alone.x[0])
        assert batch.nfe[r] == alone.nfe[0]
