"""The KV cache of our LLaDA / Dream classes (Fast-dLLM's prefix and dual caches, issue 23).

A cached forward recomputes only some positions and reads every other layer's keys/values from
a full forward recorded earlier. What must hold, in float32: recording changes no logit (the
first step of a block is the full forward); on the canvas the cache was recorded on, the cached
forward gives the full forward's logits; with one layer the keys/values depend only on each
position's own token, so the cached forward is exact whenever only recomputed positions changed;
with more layers it is an approximation (it differs from the full forward after a change), and
a row's logits never depend on the other rows of its batch (rows at different blocks, padding).
"""

from __future__ import annotations

import pytest
import torch
from tie_models_helpers import layered_backend

from tie.models import TransformersBackend
from tie.models.layers import KVCache
from tie.models.native import padded_positions

L, PAD = 24, (0, 3, 5)  # canvas length; left padding of each row


def backend(family: str, layers: int = 2) -> TransformersBackend:
    return layered_backend(family, layers, seed=0)


def canvas(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, 60, (len(PAD), L), generator=g)
    am = torch.ones_like(x)
    for r, p in enumerate(PAD):
        am[r, :p] = 0
    return x, am


def region(mode: str, start: torch.Tensor, block: int = 4) -> torch.Tensor:
    """[B, L] bool: what a `mode` cache recomputes when each row's block starts at `start`."""
    at = torch.arange(L)[None]
    if mode == "prefix":
        return at >= start[:, None]
    return (at >= start[:, None]) & (at < start[:, None] + block)


def block_positions(start: torch.Tensor, block: int = 4) -> torch.Tensor:
    return start[:, None] + torch.arange(block)[None]


def recorded(family: str, layers: int = 2):
    """A backend, the canvas, the KV cache its full forward recorded, and that forward's logits."""
    b, (x, am), kv = backend(family, layers), canvas(), KVCache()
    return b, x, am, kv, b.logits(x, am, cache=kv)


def at(logits: torch.Tensor, want: torch.Tensor) -> torch.Tensor:
    """Logits [B, L, V] at each row's positions `want` [B, P]."""
    return logits.gather(1, want[..., None].expand(-1, -1, logits.shape[-1]))


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_recording_the_cache_changes_no_logit(family):
    b = backend(family)
    x, am = canvas()
    for span in (None, (10, 20)):
        kv = KVCache()
        assert torch.equal(b.logits(x, am, span=span, cache=kv), b.logits(x, am, span=span))
        assert len(kv) == 2 and kv.keys[0].shape[0] == len(PAD) and kv.keys[0].shape[2] == L


@pytest.mark.parametrize("family", ["llada", "dream"])
@pytest.mark.parametrize("mode", ["prefix", "dual"])
def test_cached_forward_on_the_recorded_canvas_is_the_full_forward(family, mode):
    b, x, am, kv, full = recorded(family)
    start = torch.tensor([8, 12, 16])  # rows at different blocks
    want = torch.cat([block_positions(start), torch.arange(20, 24).expand(3, -1)], dim=1)
    got = b.cached_logits(x, am, want, kv, region(mode, start))
    torch.testing.assert_close(got, at(full, want), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", ["llada", "dream"])
@pytest.mark.parametrize("mode", ["prefix", "dual"])
def test_one_layer_cache_is_exact_when_only_recomputed_positions_change(family, mode):
    """With one layer, keys/values are a function of each position's token (and position): a
    cache is then exact, so the cached step equals the full forward on the new canvas."""
    b, x, am, kv, _ = recorded(family, layers=1)
    start = torch.tensor([8, 12, 16])
    fresh = region(mode, start)
    x2 = torch.where(
        fresh, torch.randint(1, 60, x.shape, generator=torch.Generator().manual_seed(3)), x
    )
    assert not torch.equal(x2, x)
    want = block_positions(start)
    got = b.cached_logits(x2, am, want, kv, fresh)
    torch.testing.assert_close(got, at(b.logits(x2, am), want), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_deeper_cache_is_an_approximation(family):
    """With two layers the cached prefix keys carry the old block: after the block changed the
    cached step differs from the full forward (so the exactness tests above are not vacuous)."""
    b, x, am, kv, _ = recorded(family)
    start = torch.tensor([8, 8, 8])
    fresh = region("dual", start)
    x2 = torch.where(fresh, (x + 7) % 60 + 1, x)
    want = block_positions(start)
    got = b.cached_logits(x2, am, want, kv, fresh)
    assert (got - at(b.logits(x2, am), want)).abs().max() > 1e-4


@pytest.mark.parametrize("family", ["llada", "dream"])
@pytest.mark.parametrize("mode", ["prefix", "dual"])
def test_a_rows_cached_logits_do_not_depend_on_its_batch(family, mode):
    b, x, am, kv, _ = recorded(family)
    start = torch.tensor([8, 12, 16])
    fresh = region(mode, start)
    x2 = torch.where(fresh, (x * 3) % 60 + 1, x)
    want = block_positions(start)
    together = b.cached_logits(x2, am, want, kv, fresh)
    for r in range(len(PAD)):
        alone = b.cached_logits(
            x2[r : r + 1],
            am[r : r + 1],
            want[r : r + 1],
            kv.rows(torch.tensor([r])),
            fresh[r : r + 1],
        )
        torch.testing.assert_close(together[r : r + 1], alone, rtol=1e-5, atol=1e-5)


def test_padded_positions_lists_each_rows_selection_in_order():
    sel = torch.tensor([[0, 1, 0, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    assert padded_positions(sel).tolist() == [[1, 3, 4], [0, 0, 0]]
    with pytest.raises(ValueError, match="at least one position"):
        padded_positions(torch.zeros(1, 3, dtype=torch.bool))


def test_a_cached_forward_needs_a_recorded_cache():
    b = backend("llada")
    x, am = canvas()
    with pytest.raises(ValueError, match="filled KV cache"):
        b.cached_logits(x, am, torch.zeros(3, 1, dtype=torch.long), KVCache(), am.bool())
