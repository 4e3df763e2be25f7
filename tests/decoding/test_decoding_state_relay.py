"""Pause / clone / replace_rows / set_canvas_rows / resume, per-row NFE, the answer-after-reasoning rule."""

import pytest
import torch
from tie_decoding_helpers import random_prompts

from tie.decoding import DecodeConfig, Decoder, build_canvas

CFG = DecodeConfig(block_length=8, steps=32)  # 4 blocks of 8 steps: pauses fall mid-block


def fresh(backend, seed=0, lengths=(4, 7)):
    return build_canvas(
        backend, random_prompts(backend, list(lengths), seed=seed), 17, "Answer:", 8
    )


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_pause_clone_resume_equals_uninterrupted(backend, temperature):
    cfg = DecodeConfig(block_length=8, steps=32, temperature=temperature, seed=3)
    full = Decoder(backend, cfg).run(fresh(backend))
    paused = Decoder(backend, cfg).run(fresh(backend), 5)
    assert not paused.done().any()
    copy = paused.clone()
    Decoder(backend, cfg).run(paused, 3)  # the original moves on; the copy must not care
    Decoder(backend, cfg).run(copy)
    assert torch.equal(copy.x, full.x)
    assert copy.nfe.tolist() == full.nfe.tolist()


def test_replace_rows_relays_canvas_and_schedule(backend):
    dec = Decoder(backend, CFG)
    a, b = dec.run(fresh(backend, seed=1), 11), dec.run(fresh(backend, seed=2), 11)
    b_alone = dec.run(b.clone())
    a_alone = dec.run(a.clone())
    a.replace_rows([1], b)
    assert a.blk_step[1] == b.blk_step[1] and a.nfe[1] == 11
    dec.run(a)
    assert torch.equal(a.x[1], b_alone.x[1])
    assert torch.equal(a.x[0], a_alone.x[0])


def test_set_canvas_rows_recomputes_quota_over_steps_left(backend):
    dec = Decoder(backend, CFG)
    state = dec.run(fresh(backend), 3)  # block 0: 3 of 8 steps taken
    g0 = state.layout.gen_start
    reopened = state.x[0].clone()
    reopened[g0 : g0 + 8] = backend.mask_id  # all 8 masks back, 5 steps left for this block
    state.set_canvas_rows([0], reopened[None])
    counts = []

    def hook(st, sig):
        counts.append(int(sig.committed[0].sum()))

    dec.run(state, 5, hook=hook)
    assert counts == [2, 2, 2, 1, 1]
    assert not (state.x[0, g0 : g0 + 8] == backend.mask_id).any()


def test_set_canvas_rows_on_a_new_block_gets_the_full_block_steps(backend):
    dec = Decoder(backend, CFG)
    state = dec.run(fresh(backend), 3)
    g0 = state.layout.gen_start
    filled = state.x[0].clone()
    filled[g0 : g0 + 8] = 42  # block 0 complete: block 1 starts with its 8 steps
    state.set_canvas_rows([0], filled[None])
    dec.run(state, 1)
    assert state.cur_block[0] == 1 and state.blk_spb[0] == 8 and state.blk_n[0] == 8


def test_finished_rows_are_not_stepped(backend):
    dec = Decoder(backend, CFG)
    state = fresh(backend)
    done_row = dec.run(fresh(backend)).x[1]
    state.set_canvas_rows([1], done_row[None])
    assert state.done().tolist() == [False, True]
    before = backend.rows_seen
    sig = dec.step(state)
    assert backend.rows_seen - before == 1
    assert state.nfe.tolist() == [1, 0] and sig.active.tolist() == [True, False]
    assert torch.isnan(sig.top1_prob[1]).all() and not sig.in_A[1].any()
    dec.run(state)
    assert state.done().all() and dec.step(state) is None


def straddling(backend):
    # R=10, suffix "A:" (2), A=4: one block of 16 holds reasoning and answer masks
    return build_canvas(backend, random_prompts(backend, [3, 5], seed=4), 10, "A:", 4)


@pytest.mark.parametrize(
    "policy,steps", [("low_confidence", 4), ("low_confidence", 2), ("low_confidence", 1),
                     ("threshold", 1), ("topk", 1), ("dream", 4), ("entropy", 16), ("random", 2)],
)  # fmt: skip
def test_answer_never_committed_while_reasoning_masked(backend, policy, steps):
    state = straddling(backend)
    (r0, r1), (a0, a1) = state.layout.reasoning, state.layout.answer
    prev = [state.x.clone()]

    def hook(st, sig):
        open_before = (prev[0][:, r0:r1] == backend.mask_id).any(1)
        assert not (sig.committed[:, a0:a1].any(1) & open_before).any()
        prev[0] = st.x.clone()

    cfg = DecodeConfig(block_length=16, steps=steps, policy=policy, k=3)
    Decoder(backend, cfg).run(state, hook=hook)
    assert state.done().all()


def test_unusable_quota_carries_over(backend):
    # 14 masks over 4 steps -> [4, 4, 3, 3]: step 2 can use only the 2 reasoning masks left,
    # its spare 1 carries to step 3, which commits all 4 answer masks: done in 4 steps.
    state = straddling(backend)
    counts = []
    Decoder(backend, DecodeConfig(block_length=16, steps=4)).run(
        state, hook=lambda st, sig: counts.append(sig.committed.sum(1).tolist())
    )
    assert counts == [[4, 4], [4, 4], [2, 2], [4, 4]]
    # steps=2 -> [7, 7]: the reasoning ends in step 2, the answer needs one extra step
    state = straddling(backend)
    Decoder(backend, DecodeConfig(block_length=16, steps=2)).run(state)
    assert state.nfe.tolist() == [3, 3] and state.done().all()


@pytest.mark.parametrize(
    "policy,steps", [("low_confidence", 16), ("low_confidence", None), ("margin", None),
                     ("entropy", 16), ("dream", 16), ("threshold", None), ("topk", None)],
)  # fmt: skip
def test_all_rows_fast_path_equals_per_row_path(backend, policy, steps):
    # All rows active -> the decoder reads/writes the state whole; one finished row -> per-row
    # gathers/scatters. Rows 0-1 must decode identically either way, signals included (under
    # "threshold" rows finish at different steps, so both paths run in the first decode).
    cfg = DecodeConfig(block_length=8, steps=steps, policy=policy, k=3)
    lengths = (4, 7, 5)
    whole, sig_whole = fresh(backend, lengths=lengths), []
    Decoder(backend, cfg).run(whole, hook=lambda st, s: sig_whole.append(s))
    mixed, sig_mixed = fresh(backend, lengths=lengths), []
    mixed.set_canvas_rows([2], whole.x[2:3])
    assert mixed.done().tolist() == [False, False, True]
    Decoder(backend, cfg).run(mixed, hook=lambda st, s: sig_mixed.append(s))
    assert torch.equal(mixed.x[:2], whole.x[:2])
    assert mixed.nfe.tolist() == [*whole.nfe[:2].tolist(), 0]
    for name in ("cur_block", "blk_n", "blk_spb", "blk_step", "carry", "resched"):
        assert torch.equal(getattr(mixed, name)[:2], getattr(whole, name)[:2]), name
    assert len(sig_mixed) == len(sig_whole)
    for a, b in zip(sig_whole, sig_mixed, strict=True):
        assert torch.equal(a.committed[:2], b.committed[:2])
        assert torch.equal(a.answer_top1[:2], b.answer_top1[:2])
        torch.testing.assert_close(b.top1_prob[:2], a.top1_prob[:2], rtol=0, atol=0, equal_nan=True)
        assert torch.equal(a.active[:2], b.active[:2]) and not b.active[2]
    # without signals the same tokens come out (and no signals)
    quiet = fresh(backend, lengths=lengths)
    dec = Decoder(backend, cfg)
    assert dec.step(quiet, want_signals=False) is None
    dec.run(quiet, want_signals=False)
    assert torch.equal(quiet.x, whole.x) and torch.equal(quiet.nfe, whole.nfe)


def test_run_reads_the_mask_once_per_step(backend, monkeypatch):
    state = fresh(backend)
    calls = []
    orig = type(state).masked
    monkeypatch.setattr(type(state), "masked", lambda self: calls.append(1) or orig(self))
    Decoder(backend, CFG).run(state, want_signals=False)
    assert len(calls) == int(state.steps_taken.max()) + 1
