"""What one TIE cycle keeps besides its trajectories, and the small pieces of a round that are not
rules: the leader record, the gate, the budget exit and the round's scores (`RoundScores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from tie.ensemble.options import EnsembleOptions
from tie.ensemble.trajectory import FREE_LOGIT_SCORES, Trajectory, generated_len


@dataclass
class CycleSpec:
    """How a method runs the cycle: the selecting scoring (None: no relay, e.g. single, post) and
    the steps per round; how the members decode a round."""

    options: EnsembleOptions
    scoring: str | None
    interval: int
    members: str = "sequential"  # or concurrent (placement=per_model): tie.ensemble.concurrent


@dataclass
class CycleRecord:
    """Per problem: who led which round, forwards spent on scoring, budget exits; per member:
    rounds contested and won (gating)."""

    rounds_led: torch.Tensor  # [M, B]
    last_leader: torch.Tensor  # [B], -1 before the first relay
    # [B] forwards per problem beyond the members' steps: one per canvas of the problem a model
    # read (cross-model scoring: M x M per relayed round, batched or not)
    scoring_nfe: torch.Tensor
    budget_exit: torch.Tensor  # [B] left the relay cycle on budget
    wins: torch.Tensor  # [M]
    contests: torch.Tensor  # [M]
    generator: torch.Generator  # tie_break="random"
    leaders: list[list[str]] = field(default_factory=list)  # per problem, the round leaders
    # model calls the logit scorings made over the whole batch (batched_scoring: M per relayed
    # round; unbatched: M x M); speed only, NFE above counts per problem
    scoring_calls: int = 0

    @classmethod
    def empty(cls, m: int, b: int, seed: int) -> CycleRecord:
        return cls(
            rounds_led=torch.zeros(m, b, dtype=torch.long),
            last_leader=torch.full((b,), -1, dtype=torch.long),
            scoring_nfe=torch.zeros(b, dtype=torch.long),
            budget_exit=torch.zeros(b, dtype=torch.bool),
            wins=torch.zeros(m, dtype=torch.long),
            contests=torch.zeros(m, dtype=torch.long),
            generator=torch.Generator().manual_seed(seed),
            leaders=[[] for _ in range(b)],
        )

    def count(self, rows: torch.Tensor, relay: torch.Tensor, leader: torch.Tensor, names) -> None:
        """The relayed rows' leaders join the record; every member contested them."""
        for j, b in enumerate(rows.tolist()):
            if relay[j]:
                self.rounds_led[leader[j], b] += 1
                self.leaders[b].append(names[leader[j]])
                self.last_leader[b] = leader[j]
        contested = relay.nonzero().flatten()
        for i in range(len(names)):
            self.contests[i] += len(contested)
            self.wins[i] += int((leader[contested] == i).sum())


@dataclass
class RoundScores:
    """A round's scores [M, R] by name over `rows`, as a scoring rule sees them; `source[j]`: where
    the logit scores of row j come from (last_step | cross | source)."""

    trajs: list[Trajectory]
    rows: torch.Tensor
    relay: torch.Tensor  # [R] rows whose score decides a relay (the others finish)
    options: EnsembleOptions
    record: CycleRecord
    scores: dict[str, torch.Tensor] = field(default_factory=dict)
    source: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        rows = self.rows
        self.scores = {"tcc": -torch.stack([t.round_count[rows] for t in self.trajs])}
        for k in FREE_LOGIT_SCORES:
            self.scores[k] = torch.stack([t.last_scores[k][rows] for t in self.trajs])
        self.source = ["last_step"] * len(rows)


def all_done(trajs: list[Trajectory]) -> torch.Tensor:
    """[M, B] which member has no masked position left."""
    return torch.stack([t.done() for t in trajs])


def tie_keys(trajs: list[Trajectory], key: str | None, rows: torch.Tensor) -> torch.Tensor:
    """[M, R] the tie key a tie rule reads (own_top1 for the unkeyed rules, as TIE_SPEC)."""
    return torch.stack([getattr(t, key or "own_top1")[rows] for t in trajs])


def eligible(trajs, record: CycleRecord, rows: torch.Tensor, g: Any) -> torch.Tensor | None:
    """[M, R] members allowed to lead (gating, beyond the paper), None when gating is off."""
    if not g.enabled:
        return None
    ok = torch.ones(len(trajs), dtype=torch.bool)
    if g.accuracy_gap is not None and g.accuracies:
        acc = torch.tensor([g.accuracies.get(t.name, float("nan")) for t in trajs])
        ok &= ~(acc < acc.nan_to_num(-1.0).max() - g.accuracy_gap)
    if g.min_win_rate is not None:
        rate = record.wins.double() / record.contests.clamp(min=1).double()
        ok &= ~((record.contests >= g.min_rounds) & (rate < g.min_win_rate))
    return ok.unsqueeze(1).expand(-1, len(rows))


def budget_spent(trajs: list[Trajectory], rows: torch.Tensor) -> torch.Tensor:
    """[R] a member of the row has spent a whole decode's forwards (one per generated token).

    A relay across tokenizers drops committed tokens after a gap, so relays alone need not make
    progress (mid-block intervals can cycle forever); such a problem leaves the cycle after this
    relay and each member finishes it on its own, which always terminates. A relay that loses
    nothing finishes within that budget, so this changes nothing there.
    """
    return torch.stack([t.nfe[rows] >= generated_len(t.layout) for t in trajs]).any(0)
