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


def _cross_model(r) -> None:
    """Logit scores of the relayed rows' canvases, averaged over every member (cross_model) or
    from the source alone: one forward per (source, scorer) pair; the rows that finish log the
    free values. Refreshes all three logit scores (one forward gives them all)."""
    relay = r.relay
    if not relay.any():
        return
    rows, opts, trajs = r.rows[relay], r.options, r.trajs
    for i, src in enumerate(trajs):
        scorers = trajs if opts.cross_model else [src]
        acc = {k: torch.zeros(len(rows), dtype=torch.float64) for k in LOGIT_SCORES}
        for dst in scorers:
            x, attn = as_read_by(src, dst, rows, opts.bridge_gaps)
            temp = (opts.calibration or {}).get(dst.name)
            if temp is None:
                sig = dst.decoder.answer_signals(x, attn, dst.layout)
            else:
                sig = calibrated_answer_signals(dst.backend, dst.config, x, attn, dst.layout, temp)
            r.record.scoring_nfe[rows] += 1
            for k, v in logit_scores(sig).items():
                acc[k] += v.cpu()
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
