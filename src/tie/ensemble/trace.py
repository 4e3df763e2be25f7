"""Tracing as an observer of the TIE loop: step, round and candidate events -> trace rows.

The loop and the trajectories report what happened (`on_step`, `on_round`, `on_candidates`);
`TraceObserver` turns that into the rows of `tie.tracing` (steps / rounds / candidates tables).
`NoObserver` is the loop's observer when nothing is traced.
"""

from __future__ import annotations

from typing import Any

from tie.ensemble.bridge import BridgeStats
from tie.ensemble.registry import TIE_RULES

CANDIDATE_COLS = (
    "model", "text", "reasoning", "extracted", "correct", "change_count", "mean_top1", "rounds_led",
)  # fmt: skip


class NoObserver:
    """Sees nothing; the trajectories then skip what only a step trace needs."""

    wants_steps = False

    def on_step(self, *args: Any) -> None:
        pass

    def on_round(self, *args: Any) -> None:
        pass

    def on_candidates(self, *args: Any) -> None:
        pass


class TraceObserver:
    """Writes one method's events on one batch to a `tie.tracing.Tracer` (or anything with its
    add_step / add_round / add_candidate)."""

    def __init__(self, tracer: Any, method: str, ids: list[str], options: Any, scoring=None):
        self.tracer, self.method, self.ids = tracer, method, ids
        self.options, self.scoring = options, scoring
        self.wants_steps = bool(options.trace_steps)

    def on_step(self, traj, rnd, s, active, n_masked, scores, lookahead: bool) -> None:
        rows = active.nonzero().flatten().tolist()
        if not rows:
            return
        top1 = s.answer_top1.cpu().tolist()
        in_a = s.in_A.bool().cpu().tolist()
        committed = s.committed.bool().cpu()
        x = traj.state.x.cpu()
        n_masked = n_masked.cpu().tolist()
        steps = (traj.nfe if lookahead else traj.nfe - 1).tolist()
        tracked = traj.positions.trace(traj.read)
        for b in rows:
            pos = committed[b].nonzero().flatten()
            extra = {k: v[b] for k, v in tracked.items()} if tracked else {}
            self.tracer.add_step(
                {
                    "id": self.ids[b],
                    "method": self.method,
                    "model": traj.name,
                    "round": rnd,
                    "step": steps[b],
                    "answer_top1": top1[b],
                    "in_A": in_a[b],
                    "mean_top1_prob": float(scores["top1"][b]),
                    "mean_entropy": float(-scores["entropy"][b]),
                    "mean_margin": float(scores["margin"][b]),
                    "n_masked": int(n_masked[b]),
                    "committed_pos": pos.tolist(),
                    "committed_ids": x[b, pos].tolist(),
                    "lookahead": lookahead,
                    **extra,
                }
            )

    def on_round(self, rnd, rows, r, leader, tied, relay, gate, stats, over, keys) -> None:
        opts, scores, trajs = self.options, r.scores, r.trajs
        keyed = getattr(TIE_RULES.get(opts.tie_break), "traced", False)
        for j, b in enumerate(rows.tolist()):
            for i, t in enumerate(trajs):
                st = stats.get((b, i))
                bridge = "none" if st is None else ("copy" if st == "copy" else "text")
                text = st if isinstance(st, BridgeStats) else BridgeStats()
                self.tracer.add_round(
                    {
                        "id": self.ids[b],
                        "method": self.method,
                        "round": rnd,
                        "model": t.name,
                        "score_tcc": float(scores["tcc"][i, j]),
                        "score_top1": float(scores["top1"][i, j]),
                        "score_entropy": float(scores["entropy"][i, j]),
                        "score_margin": float(scores["margin"][i, j]),
                        "logit_source": r.source[j],
                        "selecting": self.scoring,
                        "leader": trajs[leader[j]].name,
                        "tied": bool(tied[j]),
                        "tie_rule": opts.tie_break,
                        "tie_key": float(keys[i, j]) if keyed else None,
                        "gated": bool(gate is not None and not gate[i, j]),
                        "relayed": bool(relay[j]),
                        "budget_exit": bool(over[j]),
                        "replaced": bool(relay[j]) and i != int(leader[j]),
                        "bridge": bridge,
                        "tokens_dropped": text.tokens_dropped,
                        "tokens_truncated": text.tokens_truncated,
                        "roundtrip_mismatch": text.roundtrip_mismatch,
                    }
                )

    def on_candidates(self, b: int, cands: list, selected: int) -> None:
        for i, cand in enumerate(cands):
            self.tracer.add_candidate(
                {
                    "id": self.ids[b],
                    "method": self.method,
                    **{k: getattr(cand, k) for k in CANDIDATE_COLS},
                    "selected": i == selected,
                }
            )


def observer_for(tracer: Any, method: str, ids: list[str], options: Any, scoring=None):
    """The loop's observer: a TraceObserver on `tracer`, or NoObserver without one."""
    if tracer is None:
        return NoObserver()
    return TraceObserver(tracer, method, ids, options, scoring)
