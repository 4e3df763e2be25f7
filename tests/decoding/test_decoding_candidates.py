"""The commit reads only its candidate slots' logits (issue 23: no work done twice).

Tokens and confidences at the candidates must be bit-identical to computing them over the whole
window, as the decoder did before: checked here against that computation written out, on
adversarial logits (ties at the maximum, -inf rows, +inf and NaN entries, bfloat16-rounded
values, huge magnitudes, the mask id on top), at one and two threads.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from fakes import make_scripted_backend

from tie.decoding import DecodeConfig, Decoder
from tie.decoding.decoder import Window

B, BL, V = 3, 8, 5003  # rows, window slots, vocabulary (odd: vector tails)


def adversarial(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """(logits [B, n, V], window positions [B, BL], candidates [B, BL], lo)."""
    g = torch.Generator().manual_seed(seed)
    n = 2 * BL + 3
    lg = torch.randn(B, n, V, generator=g) * torch.rand(B, n, 1, generator=g) * 40
    lg[0, 1, :17] = lg[0, 1].max() + 1  # 17-way tie at the top
    lg[0, 2] = float("-inf")
    lg[0, 2, 9] = 0.0  # one finite id
    lg[1, 3, 5] = float("inf")
    lg[1, 4, 100] = float("nan")
    lg[1, 5] = lg[1, 5].bfloat16().float()  # many exact ties
    lg[2, 6] *= 1e30
    lg[2, 7] = 0.0  # uniform: everything ties
    lg[2, 8, 3] = 1e4  # the mask id (variant "a": 3) on top
    lo = int(torch.randint(0, 5, (1,), generator=g))
    start = torch.randint(0, n - BL + 1, (B,), generator=g)
    pos = lo + start[:, None] + torch.arange(BL)[None]
    cand = torch.rand(B, BL, generator=g) < 0.6
    cand[0, :] = True
    cand[1, :] = cand[1, :] & (torch.arange(BL) % 2 == 0)
    return lg, pos, cand, lo


def decoder(**options) -> Decoder:
    return Decoder(make_scripted_backend("a", seed=0), DecodeConfig(**options))


def window(pos: torch.Tensor, cand: torch.Tensor) -> Window:
    cur = torch.zeros(pos.shape[0], dtype=torch.long)
    return Window(cur, pos, torch.zeros_like(pos), cand, False)


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("forbid", [False, True])
def test_candidate_rows_are_the_windows_rows(threads, seed, forbid):
    lg, pos, cand, lo = adversarial(seed)
    dec = decoder(forbid_mask_token=forbid)
    win = window(pos, cand)
    whole = dec._window_logits(lg, win, lo)
    assert whole.shape == (B, BL, V)
    same(dec._window_logits(lg, win, lo, cand), whole[cand])
    before = lg.clone()
    dec._window_logits(lg, win, lo, cand)[:] = 0.0  # a copy: the step's logits stay as they were
    same(lg, before)


def full_window_confidence(kind: str, wl: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """The confidence as computed over the whole window before (issue 23)."""
    logp = torch.log_softmax(wl, dim=-1)
    if kind == "prob":
        return logp.gather(-1, x0[..., None]).squeeze(-1).exp()
    p = logp.exp()
    if kind == "margin":
        top = p.topk(2, dim=-1).values
        return top[..., 0] - top[..., 1]
    return torch.where(p > 0, p * logp, torch.zeros_like(p)).sum(-1)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["prob", "margin", "entropy"])
def test_greedy_tokens_and_confidence_at_candidates_are_bit_identical(threads, seed, kind):
    lg, pos, cand, lo = adversarial(seed)
    dec = decoder(policy={"prob": "low_confidence"}.get(kind, kind))
    assert dec.config.confidence == kind
    wl = dec._window_logits(lg, window(pos, cand), lo)
    x0_full = wl.argmax(-1)
    cl = wl[cand]
    tok = cl.argmax(-1)
    same(tok, x0_full[cand])
    conf = dec._confidence(SimpleNamespace(generator=None, x=pos), cl, tok, cand)
    same(conf[cand], full_window_confidence(kind, wl, x0_full)[cand])
    assert bool((conf[~cand] == float("-inf")).all())


def test_random_confidence_draws_every_slot_as_before():
    lg, pos, cand, lo = adversarial(0)
    dec = decoder(policy="random", seed=7)
    cl = dec._window_logits(lg, window(pos, cand), lo, cand)
    conf = dec._confidence(SimpleNamespace(generator=None, x=pos), cl, cl.argmax(-1), cand)
    same(conf, torch.rand(cand.shape, generator=torch.Generator().manual_seed(7)))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("no_mask", [False, True])
def test_sampled_tokens_at_candidates_are_bit_identical(threads, seed, no_mask):
    """Temperature > 0: the Gumbel noise of every window slot is drawn (the generator advances
    as before) and the candidates' tokens are those of the whole-window draw."""
    lg, pos, cand, lo = adversarial(seed)
    lg = lg.nan_to_num(nan=0.0)  # a NaN logit makes the whole-window draw NaN-ranked either way
    dec = decoder(temperature=0.7, seed=seed)
    win = window(pos, cand)
    wl = dec._window_logits(lg, win, lo)
    rows = torch.tensor([True, False, True]) if no_mask else None
    ref = wl.clone()
    if rows is not None:
        ref[rows, :, dec.mask_id] = float("-inf")
    u = torch.rand(ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    gumbel = -torch.log(-torch.log(u.clamp(min=1e-300)))
    x0_full = (ref.double() / 0.7 + gumbel).argmax(-1)
    state = SimpleNamespace(generator=None, x=pos)
    quota = torch.full((B,), BL)
    steps = torch.zeros(B, dtype=torch.long)
    x0, sel = dec._pick(state, pos, wl[cand], cand, pos, quota, steps, steps + 1, rows)
    same(x0[cand], x0_full[cand])
    assert bool((x0[~cand] == dec.mask_id).all()) and not bool(sel[~cand].any())
