"""The TIE cycle (TIE_SPEC section 3) on one screen: decode, score, lead, relay, select.

Every round each member decodes `interval` steps of its own trajectory; for the problems still in
the relay cycle the registered scoring scores the round, the tie rule picks the leader and the
leader's canvas replaces every other member's. A problem leaves the cycle when a member has decoded
it completely (or has spent a whole decode's forwards); its members then finish it on their own.
At the end the final selection picks the answer. Vectorised over the batch: every problem has its
own leader each round. `single:<m>` and `post` run the same loop without relays. Observers see
each step and round (tracing: `tie.ensemble.trace`); nothing here builds trace rows.
"""

from __future__ import annotations

import torch

from tie.ensemble.concurrent import MemberWorkers
from tie.ensemble.cycle import (
    CycleRecord,
    CycleSpec,
    RoundScores,
    all_done,
    budget_spent,
    eligible,
    tie_keys,
)
from tie.ensemble.registry import SCORINGS, TIE_RULES
from tie.ensemble.relay import relay as relay_rows
from tie.ensemble.scoring import argmax_with_ties, select_final
from tie.ensemble.trajectory import Trajectory


def run_cycle(trajs: list[Trajectory], spec: CycleSpec, observer) -> CycleRecord:
    """Decode every trajectory to the end, relaying the round's leader while problems are in the
    cycle. Each round every member decodes n steps, one after another or concurrently
    (`spec.members`, tie.ensemble.concurrent), then they meet for the round's assessment."""
    opts, b = spec.options, trajs[0].state.x.shape[0]
    record = CycleRecord.empty(len(trajs), b, opts.tie_break_seed)
    scoring = SCORINGS.get(spec.scoring) if spec.scoring else None
    x = opts.experimental  # the testbed's research rules
    look = scoring is not None and getattr(scoring, "counts", False) and x.count_last_commit
    in_cycle = torch.full((b,), scoring is not None)
    rnd = 0
    with MemberWorkers(trajs, spec.members) as members:
        while not all_done(trajs).all():
            after = None
            if look and in_cycle.any():  # experimental: see the round's last commit
                after = last_commit_look(trajs, all_done(trajs), in_cycle, record, rnd, observer)
            members.decode(spec.interval, rnd, observer, after)  # (1) each member: n steps
            if in_cycle.any():
                in_cycle = tie_round(trajs, spec, scoring, record, in_cycle, rnd, observer)
            rnd += 1
    return record


def last_commit_look(trajs, before, in_cycle, record, rnd, observer):
    """`after(i, traj, ran)` for the round's decodes: member i looks at its last commit on the
    rows in the cycle that it stepped and no member has completed yet (members after i: as
    `before` the round), one forward each, counted as scoring NFE."""

    def after(i: int, t: Trajectory, ran: torch.Tensor) -> None:
        done = torch.stack([u.done() if j <= i else before[j] for j, u in enumerate(trajs)])
        rows = t.look_ahead(in_cycle & ran & ~done.any(0), rnd, observer)
        record.scoring_nfe[rows] += 1

    return after


def tie_round(trajs, spec, scoring, record, in_cycle, rnd, observer) -> torch.Tensor:
    """Score, lead and relay the problems in the cycle; returns the new in-cycle mask."""
    opts = spec.options
    rows = in_cycle.nonzero().flatten()
    completed = all_done(trajs)[:, rows].any(dim=0)
    relay = torch.ones_like(completed) if opts.on_complete == "relay_then_finish" else ~completed
    r = RoundScores(trajs, rows, relay, opts, record)  # (2) score the round's trajectories
    chosen = scoring(r)
    rule = TIE_RULES.get(opts.tie_break)  # (3) the leader: best score, ties by the tie rule
    keys = tie_keys(trajs, rule.key, rows)
    tol = opts.experimental.tie_tolerance if getattr(scoring, "counts", False) else 0.0
    gate = eligible(trajs, record, rows, opts.gating)
    leader, tied = argmax_with_ties(
        chosen, opts.tie_break, keys, gate, record.generator, record.last_leader[rows], tol
    )
    stats = relay_rows(trajs, rows[relay], leader[relay], opts.bridge_gaps)  # (4) relay
    record.count(rows, relay, leader, [t.name for t in trajs])
    over = budget_spent(trajs, rows) & ~completed
    record.budget_exit[rows[over]] = True
    observer.on_round(rnd, rows, r, leader, tied, relay, gate, stats, over, keys)
    new = in_cycle.clone()
    new[rows[completed | over]] = False  # the others finish independently
    return new


def final_selection(trajs: list[Trajectory], record: CycleRecord, opts) -> tuple[torch.Tensor, ...]:
    """(5) The answer of each problem: (chosen [B], change counts [M, B], mean top-1 [M, B])."""
    scope = "whole_count" if opts.selection_tcc == "whole_decode" else "last_round_count"
    counts = torch.stack([getattr(t, scope) for t in trajs])
    top1 = torch.stack([t.top1_sum / t.top1_n.clamp(min=1) for t in trajs])
    if len(trajs) == 1:
        return torch.zeros(counts.shape[1], dtype=torch.long), counts, top1
    names = [t.name for t in trajs]
    best = names.index(opts.best_model) if opts.final_selection == "best_model" else None
    chosen = select_final(counts, top1, opts.final_selection, record.rounds_led, best)
    return chosen, counts, top1
