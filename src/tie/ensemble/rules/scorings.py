"""Scorings: each trajectory's round score [M, R] (higher leads the relay; TIE_SPEC section 3).

A scoring is `f(r: RoundScores) -> [M, R]` registered by name (`tie:<name>` runs it). `r.scores`
already holds the free scores of the round, read from each trajectory's histories: `tcc` (minus
the round's token change count) and the last step's `top1`, `entropy` (negated) and `margin`
means over A(t); a scoring may refine them (the logit scorings re-score the relayed rows with a
forward of every member) and returns the one that selects. `counts=True` marks scores in change
count units: `tie_tolerance` and the look-ahead forward (`count_last_commit`) apply to those.
"""

from __future__ import annotations

import torch

from tie.ensemble.registry import register_scoring
from tie.ensemble.relay import as_read_by
from tie.ensemble.scoring import logit_scores
from tie.ensemble.signals import calibrated_answer_signals

LOGIT_SCORES = ("top1", "entropy", "margin")


@register_scoring("tcc", counts=True)
def tcc(r) -> torch.Tensor:
    """Minus the round's token change count (TIE_SPEC: the trajectory that wavers least)."""
    return r.scores["tcc"]


def _signals(dst, x: torch.Tensor, attn: torch.Tensor, calibration: dict | None):
    """One forward of scorer `dst` over canvases x (already in its layout): answer signals, at
    its calibration temperature when it has one."""
    temp = (calibration or {}).get(dst.name)
    if temp is None:
        return dst.decoder.answer_signals(x, attn, dst.layout)
    return calibrated_answer_signals(dst.backend, dst.config, x, attn, dst.layout, temp)


def _distinct_rows(x: torch.Tensor, attn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(first row of each distinct (canvas, mask) in batch order [U], each row's distinct index
    [N]); without repeats: (arange(N), arange(N))."""
    key = torch.cat([x, attn.to(x.dtype)], dim=1)
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    n = len(key)
    rows = torch.arange(n, device=key.device)
    first = torch.full((int(inverse.max()) + 1,), n, dtype=torch.long, device=key.device)
    first = first.scatter_reduce(0, inverse, rows, "amin")
    order = first.argsort()
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=key.device)
    return first[order], rank[inverse]


def _batch_scores(dst, x, attn, calibration: dict | None) -> dict[str, torch.Tensor]:
    """Logit scores [N] (CPU) of canvases x read by scorer `dst`, one forward. A canvas that
    repeats (two members holding the same one) is computed once: a BLAS may round the rows of one
    call differently by their position (small row counts, several threads), and two copies must
    keep their exact tie for the tie rule."""
    first, index = _distinct_rows(x, attn)
    sig = _signals(dst, x[first], attn[first], calibration)
    return {k: v.cpu()[index.cpu()] for k, v in logit_scores(sig).items()}


def _scores_by_scorer(r, rows: torch.Tensor) -> dict[tuple[int, int], dict[str, torch.Tensor]]:
    """{(source i, scorer d): logit scores [R] of source i's canvases read by scorer d}.

    Batched (`options.batched_scoring`): one forward per scorer over every source it scores, the
    sources' relayed canvases stacked row-wise (all are in the scorer's layout and length, with its
    attention mask, so nothing is re-padded), repeats computed once; else one forward per
    (source, scorer). Per row the computation is the same; a BLAS that picks its kernel by the
    row count can still round a score differently (about 1e-7; docs/CONTRACTS.md). `scoring_nfe`
    counts forwards per problem either way: one per (source, scorer) canvas of it.
    """
    opts, trajs = r.options, r.trajs
    out: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    n = len(rows)
    for d, dst in enumerate(trajs):
        srcs = list(range(len(trajs))) if opts.cross_model else [d]
        reads = [as_read_by(trajs[i], dst, rows, opts.bridge_gaps) for i in srcs]
        if opts.batched_scoring:
            x = torch.cat([x for x, _ in reads])
            attn = torch.cat([a for _, a in reads])
            batch = _batch_scores(dst, x, attn, opts.calibration)
            for j, i in enumerate(srcs):
                out[(i, d)] = {k: v[j * n : (j + 1) * n] for k, v in batch.items()}
        else:
            for i, (x, attn) in zip(srcs, reads):
                sig = _signals(dst, x, attn, opts.calibration)
                out[(i, d)] = {k: v.cpu() for k, v in logit_scores(sig).items()}
        r.record.scoring_nfe[rows] += len(reads)
        r.record.scoring_calls += 1 if opts.batched_scoring else len(reads)
    return out


def _cross_model(r) -> None:
    """Logit scores of the relayed rows' canvases, averaged over every member (cross_model) or
    from the source alone (`_scores_by_scorer`); the rows that finish log the free values.
    Refreshes all three logit scores (one forward gives them all)."""
    relay = r.relay
    if not relay.any():
        return
    rows, opts, trajs = r.rows[relay], r.options, r.trajs
    by_scorer = _scores_by_scorer(r, rows)
    for i in range(len(trajs)):
        scorers = range(len(trajs)) if opts.cross_model else [i]
        acc = {k: torch.zeros(len(rows), dtype=torch.float64) for k in LOGIT_SCORES}
        for d in scorers:  # scorer order: the same float64 sums batched or not
            for k in LOGIT_SCORES:
                acc[k] += by_scorer[(i, d)][k]
        for k in LOGIT_SCORES:
            r.scores[k][i, relay] = acc[k] / len(scorers)
    for j in relay.nonzero().flatten().tolist():
        r.source[j] = "cross" if opts.cross_model else "source"


@register_scoring("top1")
def top1(r) -> torch.Tensor:
    """Mean top-1 probability over A(t) of the round's final canvas."""
    _cross_model(r)
    return r.scores["top1"]


@register_scoring("entropy")
def entropy(r) -> torch.Tensor:
    """Minus the mean entropy over A(t) of the round's final canvas."""
    _cross_model(r)
    return r.scores["entropy"]


@register_scoring("margin")
def margin(r) -> torch.Tensor:
    """Mean top-1 minus top-2 probability over A(t) of the round's final canvas."""
    _cross_model(r)
    return r.scores["margin"]
