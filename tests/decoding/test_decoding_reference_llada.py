"""Greedy low-confidence decoding equals LLaDA's reference algorithm, token for token.

The oracle below is a plain re-implementation of LLaDA's `generate` written from the algorithm
(research/decoders.md section 2): per block, the quota is fixed at block start (n // spb per step,
remainder front-loaded); each step takes one forward over the whole canvas, the argmax token and
its softmax probability, forbids positions past the block and unmasked positions, and commits the
top-quota positions per row. It runs every step, including zero-quota ones.
"""

import pytest
import torch
from tie_decoding_helpers import left_pad, random_prompts

from tie.decoding import CanvasLayout, DecodeConfig, Decoder, build_canvas, generate


def llada_reference(model, prompt, attention_mask, steps, gen_length, block_length, mask_id):
    b, p = prompt.shape
    x = torch.full((b, p + gen_length), mask_id, dtype=torch.long)
    x[:, :p] = prompt
    am = torch.cat([attention_mask, torch.ones(b, gen_length, dtype=torch.long)], dim=1)
    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length
    assert steps % num_blocks == 0
    spb = steps // num_blocks
    for blk in range(num_blocks):
        start, end = p + blk * block_length, p + (blk + 1) * block_length
        n = (x[:, start:end] == mask_id).sum(1).tolist()
        quota = [[q // spb + (1 if i < q % spb else 0) for i in range(spb)] for q in n]
        for i in range(spb):
            masked = x == mask_id
            logits = model(x, am)
            x0 = logits.argmax(-1)
            conf = torch.softmax(logits.float(), -1).gather(-1, x0[..., None]).squeeze(-1)
            conf[:, end:] = float("-inf")
            conf = torch.where(masked, conf, torch.tensor(float("-inf")))
            x0 = torch.where(masked, x0, x)
            for r in range(b):
                k = quota[r][i]
                if k:
                    idx = torch.topk(conf[r], k).indices
                    x[r, idx] = x0[r, idx]
    return x


# the grid plus (30, 10, 12): quota [3, 3, 2, 2] exercises the front-loaded remainder
SETTINGS = [(32, 32, 32), (32, 8, 16), (32, 8, 8), (24, 8, 30), (30, 10, 12)]


@pytest.mark.parametrize("gen,block,steps", SETTINGS)
def test_greedy_low_confidence_matches_reference_on_left_padded_batch(backend, gen, block, steps):
    prompts = random_prompts(backend, [5, 11, 2], seed=gen + block + steps)
    ids, am = left_pad(prompts, backend.pad_id)
    ref = llada_reference(backend.logits, ids, am, steps, gen, block, backend.mask_id)
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
