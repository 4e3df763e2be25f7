"""Answer-region signals: values from the step's logits, in_A rules, hook and answer_signals."""

import torch
from tie_decoding_helpers import peaked, probs_backend, random_prompts

from tie.decoding import DecodeConfig, Decoder, build_canvas


def test_signals_match_the_logits_at_answer_positions(backend):
    state = build_canvas(backend, random_prompts(backend, [4, 6]), 9, "Answer:", 8)
    before = state.x.clone()
    sig = Decoder(backend, DecodeConfig(block_length=8)).step(state)
    a0, a1 = state.layout.answer
    logits = backend.logits(before, state.attention_mask)[:, a0:a1]
    logits[..., backend.mask_id] = float("-inf")
    p = logits.softmax(-1)
    top = p.topk(2, -1)
    assert torch.equal(sig.answer_top1, top.indices[..., 0])
    assert torch.allclose(sig.top1_prob, top.values[..., 0])
    assert torch.allclose(sig.margin, top.values[..., 0] - top.values[..., 1])
    ent = -(p * p.clamp(min=1e-45).log()).sum(-1)
    assert torch.allclose(sig.entropy, ent, atol=1e-5)
    assert sig.committed.sum(1).tolist() == [1, 1] and sig.active.all()


def test_in_A_excludes_eos_predictions_and_caps():
    eos = 1
    # answer region (8 positions after a 2-token prompt, R=0, suffix "A:"): top-1s at 2 and 5 are EOS
    row = [
        (10, 0.9),
        (11, 0.8),
        (eos, 0.9),
        (12, 0.7),
        (13, 0.6),
        (eos, 0.95),
        (14, 0.5),
        (15, 0.4),
    ]
    be = probs_backend(peaked([row]), 4)
    state = build_canvas(be, [[5, 6]], 0, "A:", 8)
    assert state.layout.answer == (4, 12)
    sig = Decoder(be, DecodeConfig(block_length=10)).step(state)
    assert sig.in_A[0].tolist() == [True, True, False, True, True, False, True, True]
    state = build_canvas(be, [[5, 6]], 0, "A:", 8)
    sig = Decoder(be, DecodeConfig(block_length=10, eos_answer_cap=3)).step(state)
    assert sig.in_A[0].tolist() == [True, True, False, True, False, False, False, False]
    state = build_canvas(be, [[5, 6]], 0, "A:", 8)
    sig = Decoder(be, DecodeConfig(block_length=10, exclude_eos_from_answer=False)).step(state)
    assert sig.in_A[0].all()


def test_committed_answer_positions_report_the_committed_token():
    row = [(10 + j, 0.9 - 0.05 * j) for j in range(4)]
    be = probs_backend(peaked([row]), 4)
    # the model's top-1 at answer position 0 is 10; overwrite it with 42 as a relayed commit
    state = build_canvas(be, [[5, 6]], 0, "A:", 4)
    state.x[0, 4] = 42
    sig = Decoder(be, DecodeConfig(block_length=6)).step(state)
    assert sig.answer_top1[0].tolist() == [42, 11, 12, 13]
    assert sig.in_A[0].tolist() == [False, True, True, True]


def test_hook_runs_every_step_and_want_signals_false_skips(backend):
    seen = []
    state = build_canvas(backend, random_prompts(backend, [3]), 9, "Answer:", 8)
    dec = Decoder(backend, DecodeConfig(block_length=8))
    dec.run(state, 4, hook=lambda st, sig: seen.append((int(st.nfe[0]), sig is not None)))
    assert seen == [(1, True), (2, True), (3, True), (4, True)]
    assert dec.step(state, want_signals=False) is None and state.nfe[0] == 5
    dec.run(state, 2, hook=lambda st, sig: seen.append(sig), want_signals=False)
    assert seen[-2:] == [None, None]


def test_answer_signals_equal_step_signals_without_committing(backend):
    state = build_canvas(backend, random_prompts(backend, [5, 2]), 9, "Answer:", 8)
    dec = Decoder(backend, DecodeConfig(block_length=8))
    scored = dec.answer_signals(state.x, state.attention_mask, state.layout)
    x_before = state.x.clone()
    assert torch.equal(state.x, x_before) and not scored.committed.any()
    stepped = dec.step(state)
    for name in ("answer_top1", "top1_prob", "entropy", "margin", "in_A"):
        assert torch.equal(getattr(scored, name), getattr(stepped, name)), name


def test_signals_and_state_are_editable_outside_inference_mode(backend):
    state = build_canvas(backend, random_prompts(backend, [3]), 9, "Answer:", 8)
    sig = Decoder(backend, DecodeConfig(block_length=8)).step(state)
    sig.in_A &= sig.top1_prob > 0.5
    sig.top1_prob.mul_(2)
    state.x[0, 0] = 7
    assert not sig.top1_prob.is_inference()


def test_block_tracking_covers_the_current_block_and_A(backend):
    """The decoder's block signals read by change_positions=answer_and_block: the tracked
    positions are A(t) plus the masked reasoning positions of each row's current block, nothing
    later; the top-1 / its probability are those where the step read logits (that block and the
    answer), committed tokens where committed."""
    from tie.ensemble.rules.positions import AnswerAndBlockPositions

    rule = AnswerAndBlockPositions()

    state = build_canvas(backend, random_prompts(backend, [4, 6]), 9, "Answer:", 8)
    lay = state.layout
    g0, r1, a0 = lay.gen_start, lay.reasoning[1], lay.answer[0]
    state.x[0, g0 + 1] = 7  # a committed token inside row 0's first block
    state.x[1, g0 : g0 + 4] = 9  # row 1's first block written: its current block is the second
    dec = Decoder(backend, DecodeConfig(block_length=4, rounding="ceil"))
    before = state.x.clone()
    scored_sig = dec.answer_signals(state.x, state.attention_mask, lay, block=True)
    scored = rule.read(scored_sig, before, lay, backend.mask_id)
    step_sig = dec.step(state, block=True)
    sig = rule.read(step_sig, state.x, lay, backend.mask_id)
    logits = backend.logits(before, state.attention_mask)
    logits[..., backend.mask_id] = float("-inf")
    # read: each row's current block (row 0: the first, row 1: the second) and the answer
    read = torch.zeros(2, lay.gen_len, dtype=torch.bool)
    read[0, 0:4], read[1, 4:8], read[:, a0 - g0 :] = True, True, True
    gen = before[:, g0 : g0 + lay.gen_len]
    masked = gen == backend.mask_id
    top1 = logits.argmax(-1)[:, g0 : g0 + lay.gen_len]
    assert torch.equal(sig.top1, torch.where(masked & read, top1, gen))  # the rest: as is
    p1 = logits.softmax(-1).max(-1).values[:, g0 : g0 + lay.gen_len]
    assert torch.allclose(sig.p1[masked & read], p1[masked & read], atol=1e-5)
    assert sig.p1[~(masked & read)].isnan().all()
    tracked = sig.tracked.clone()
    assert torch.equal(tracked[:, a0 - g0 :], step_sig.in_A)
    reasoning = tracked[:, : r1 - g0].nonzero().tolist()
    assert reasoning == [[0, 0], [0, 2], [0, 3], [1, 4], [1, 5], [1, 6], [1, 7]]
    for name in ("top1", "tracked"):  # the same without a commit
        assert torch.equal(getattr(scored, name), getattr(sig, name)), name
    for name in ("answer_top1", "in_A"):
        assert torch.equal(getattr(scored_sig, name), getattr(step_sig, name)), name
    assert torch.allclose(scored.p1, sig.p1, equal_nan=True)
    plain = Decoder(backend, DecodeConfig(block_length=4, rounding="ceil")).step(state)
    assert plain.block_pos is None  # reported on request only
