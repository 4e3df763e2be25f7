"""Commit sets of each unmasking policy on fixed confidence vectors; sampling determinism."""

import pytest
import torch
from tie_decoding_helpers import peaked, probs_backend, random_prompts

from tie.decoding import DecodeConfig, Decoder, build_canvas, generate

P = 2  # prompt [5, 6]


def one_step(backend, policy: str, rows: int = 1, **cfg) -> torch.Tensor:
    """Commit mask [rows, 8] of the first step on a plain 8-token canvas."""
    state = build_canvas(backend, [[5, 6]] * rows, 8)
    Decoder(backend, DecodeConfig(block_length=8, policy=policy, **cfg)).step(state)
    return state.x[:, P:] != backend.mask_id


def positions(mask_row: torch.Tensor) -> set[int]:
    return set(mask_row.nonzero().squeeze(1).tolist())


def test_threshold_commits_all_above_tau_and_at_least_one_per_row():
    probs = peaked(
        [
            [
                (10, 0.95),
                (11, 0.5),
                (12, 0.91),
                (13, 0.3),
                (14, 0.89),
                (15, 0.99),
                (16, 0.2),
                (17, 0.905),
            ],
            [
                (10, 0.5),
                (11, 0.4),
                (12, 0.6),
                (13, 0.3),
                (14, 0.2),
                (15, 0.1),
                (16, 0.2),
                (17, 0.3),
            ],
        ]
    )
    be = probs_backend(probs, P)
    done = one_step(be, "threshold", rows=2, threshold=0.9)
    assert positions(done[0]) == {0, 2, 5, 7}
    assert positions(done[1]) == {2}  # nothing passes: the single most confident one


def test_threshold_runs_until_block_done_regardless_of_steps():
    probs = peaked([[(10 + j, 0.99) for j in range(8)] + [(20 + j, 0.3) for j in range(8)]])
    be = probs_backend(probs, P)
    state = build_canvas(be, [[5, 6]], 16)
    Decoder(be, DecodeConfig(block_length=8, steps=2, policy="threshold")).run(state)
    # block 1 commits all 8 in one step, block 2 one per step
    assert state.nfe.tolist() == [1 + 8]
    assert state.x[0, P:].tolist() == list(range(10, 18)) + list(range(20, 28))


def test_topk_commits_the_k_most_confident():
    conf = [0.3, 0.8, 0.5, 0.9, 0.1, 0.7, 0.2, 0.6]
    be = probs_backend(peaked([[(10 + j, c) for j, c in enumerate(conf)]]), P)
    assert positions(one_step(be, "topk", k=3)[0]) == {1, 3, 5}
    assert positions(one_step(be, "topk", k=1)[0]) == {3}


def test_low_confidence_uses_the_front_loaded_quota():
    conf = [0.3, 0.8, 0.5, 0.9, 0.1, 0.7, 0.2, 0.6]
    be = probs_backend(peaked([[(10 + j, c) for j, c in enumerate(conf)]]), P)
    assert positions(one_step(be, "low_confidence", steps=3)[0]) == {1, 3, 5}  # quota [3, 3, 2]
    assert positions(one_step(be, "low_confidence", steps=8)[0]) == {3}


def two_way_vs_peaked(vocab: int = 101) -> torch.Tensor:
    """Position 0: two tokens at 0.5 (top-1 0.5, margin 0, low entropy);
    position 1: 0.45 on one token, rest spread (top-1 lower, margin high, high entropy);
    position 2: top-1 0.48 with a 0.47 runner-up (margin tiny, entropy low-ish)."""
    probs = peaked([[(10, 0.5), (11, 0.45), (12, 0.48)] + [(13, 0.01)] * 5], vocab)
    probs[0, 0] = 0.0
    probs[0, 0, 10] = probs[0, 0, 20] = 0.5
    probs[0, 2] = 0.0
    probs[0, 2, 12], probs[0, 2, 21], probs[0, 2, 22] = 0.48, 0.47, 0.05
    return probs


@pytest.mark.parametrize("policy,expected", [("low_confidence", 0), ("margin", 1), ("entropy", 0)])
def test_confidence_kinds_rank_differently(policy, expected):
    be = probs_backend(two_way_vs_peaked(), P)
    assert positions(one_step(be, policy, steps=8)[0]) == {expected}


def test_dream_policy_first_step_of_one_token_per_step_commits_nothing(backend):
    state = build_canvas(backend, random_prompts(backend, [4]), 8)
    Decoder(backend, DecodeConfig(block_length=8, steps=8, policy="dream")).step(state)
    assert (state.x[0, state.layout.gen_start :] == backend.mask_id).all()


def test_eos_suppression_changes_ranking_not_token():
    eos = 1
    probs = peaked([[(eos, 0.99), (10, 0.6), (11, 0.5), (12, 0.4)] + [(13, 0.3)] * 4])
    be = probs_backend(probs, P)
    assert positions(one_step(be, "low_confidence", steps=8)[0]) == {0}
    assert positions(one_step(be, "low_confidence", steps=8, suppress_eos_confidence=True)[0]) == {
        1
    }
    state = build_canvas(be, [[5, 6]], 8)
    Decoder(be, DecodeConfig(block_length=8, steps=8, suppress_eos_confidence=True)).run(state)
    assert state.x[0, P] == eos  # committed last, still EOS


def test_temperature_sampling_is_deterministic_per_seed(backend):
    ids = torch.tensor(random_prompts(backend, [6, 6], seed=1))
    kw = dict(block_length=8, steps=8, temperature=1.0)

    def gen(**over):
        return generate(backend, ids, gen_length=16, config=DecodeConfig(**{**kw, **over}))

    a = gen(seed=5)
    assert torch.equal(a, gen(seed=5))
    assert not torch.equal(a, gen(seed=6))
    assert not torch.equal(a, gen(temperature=0.0))


def test_random_policy_is_seeded(backend):
    ids = torch.tensor(random_prompts(backend, [6, 6], seed=2))

    def gen(seed):
        cfg = DecodeConfig(block_length=16, steps=16, policy="random", seed=seed)
        return generate(backend, ids, gen_length=16, config=cfg)

    a = gen(1)
    assert torch.equal(a, gen(1))
    assert not torch.equal(a, gen(2))
