"""The TIE cycle (TIE_SPEC section 3): trajectory generation, assessment, relay, final selection.

Vectorised over the batch: every problem has its own leader each round and leaves the cycle on
its own when any constituent has decoded it completely. `single:<m>` and `post` run through the
same loop (one member; one round with no relay) so all methods share one decoding path.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from tie.decoding.signals import empty_signals
from tie.ensemble.bridge import BridgeStats, region_spans, same_tokenizer, translate_rows
from tie.ensemble.options import Candidate, Constituent, EnsembleOptions, MethodOutput
from tie.ensemble.scoring import (
    argmax_with_ties,
    logit_scores,
    masked_mean,
    select_final,
    step_change_count,
)
from tie.ensemble.signals import calibrated_answer_signals

LOGIT_SCORES = ("top1", "entropy", "margin")
_HUGE_INTERVAL = 1 << 30


@dataclass
class Member:
    """One constituent's runtime state inside a method run, with its change-count histories."""

    c: Constituent
    decoder: Any
    state: Any
    template: torch.Tensor  # the initial canvas (own prompt + suffix) for bridging into it
    prev_top1: torch.Tensor
    prev_in_a: torch.Tensor
    round_valid: torch.Tensor
    whole_valid: torch.Tensor
    round_count: torch.Tensor
    whole_count: torch.Tensor
    last_round_count: torch.Tensor
    top1_sum: torch.Tensor
    top1_n: torch.Tensor
    own_top1: torch.Tensor  # last step's mean answer top-1 (tie-break key)
    tracked_top1: torch.Tensor  # ... over the positions the change count tracks (tracked_top1)
    last_scores: dict[str, torch.Tensor] = field(default_factory=dict)
    nfe: torch.Tensor = None  # type: ignore[assignment]
    # change_positions="answer_and_block": the previous step's top-1 over the generation region
    # and the positions it tracked (A(t) plus the current block's masked reasoning positions)
    prev_gen_top1: torch.Tensor | None = None
    prev_gen_in: torch.Tensor | None = None

    @property
    def name(self) -> str:
        return self.c.name

    @property
    def tracks_block(self) -> bool:
        """change_positions="answer_and_block": the count reads the block being written too."""
        return self.prev_gen_top1 is not None

    @property
    def backend(self) -> Any:
        return self.c.backend

    @property
    def layout(self) -> Any:
        return self.state.layout


def generated_len(layout: Any) -> int:
    """Tokens a decode generates (reasoning + answer; the suffix is given): a lossless decode
    commits at least one per forward, so this bounds its forwards."""
    return int(layout.reasoning_len) + int(layout.answer_len)


def _decode_config(c: Constituent, options: EnsembleOptions) -> Any:
    cfg = c.decode_config
    changes: dict[str, Any] = {}
    if options.exclude_eos is not None:
        changes["exclude_eos_from_answer"] = options.exclude_eos
    if options.answer_cap is not None:
        changes["eos_answer_cap"] = options.answer_cap
    return dataclasses.replace(cfg, **changes) if changes else cfg


def decoding_api() -> tuple[Any, Any]:
    """(Decoder, build_canvas) of `tie.decoding`; tests substitute a hand-checkable decoder."""
    from tie.decoding import Decoder, build_canvas

    return Decoder, build_canvas


def make_member(c: Constituent, prompts: list[str], task: Any, options: EnsembleOptions) -> Member:
    """Build the constituent's canvas for every prompt and empty histories."""
    from tie.decoding.canvas import task_regions

    Decoder, build_canvas = decoding_api()  # noqa: N806
    backend = c.backend
    config = _decode_config(c, options)
    prompt_ids = [backend.chat_prompt(p) for p in prompts]
    reasoning, answer = task_regions(backend, task, config)  # the paper's G, per tokenizer
    state = build_canvas(backend, prompt_ids, reasoning, task.answer_suffix, answer)
    decoder = Decoder(backend, config)
    b = state.x.shape[0]
    a = int(state.layout.answer_len)
    dev = state.x.device
    zeros = torch.zeros(b, dtype=torch.float64)
    tracked = {}
    if options.change_positions == "answer_and_block":
        decoder.track_block = True
        g = int(state.layout.gen_len)
        tracked = {
            "prev_gen_top1": torch.zeros(b, g, dtype=torch.long, device=dev),
            "prev_gen_in": torch.zeros(b, g, dtype=torch.bool, device=dev),
        }
    return Member(
        c=c,
        decoder=decoder,
        state=state,
        template=state.x.clone(),
        prev_top1=torch.zeros(b, a, dtype=torch.long, device=dev),
        prev_in_a=torch.zeros(b, a, dtype=torch.bool, device=dev),
        round_valid=torch.zeros(b, dtype=torch.bool),
        whole_valid=torch.zeros(b, dtype=torch.bool),
        round_count=zeros.clone(),
        whole_count=zeros.clone(),
        last_round_count=zeros.clone(),
        top1_sum=zeros.clone(),
        top1_n=torch.zeros(b, dtype=torch.long),
        own_top1=zeros.clone(),
        tracked_top1=zeros.clone(),
        last_scores={k: zeros.clone() for k in LOGIT_SCORES},
        nfe=torch.zeros(b, dtype=torch.long),
        **tracked,
    )


class MethodRun:
    """One method over one batch: members, round bookkeeping and trace emission."""

    def __init__(
        self,
        method: str,
        members: list[Member],
        options: EnsembleOptions,
        scoring: str | None,
        interval: int,
        ids: list[str],
        tracer: Any = None,
    ) -> None:
        self.method = method
        self.members = members
        self.options = options
        self.scoring = scoring  # None: no assessment / relay (single, post)
        self.interval = interval
        self.ids = ids
        self.tracer = tracer
        self.trace_steps = bool(tracer is not None and options.trace_steps)
        b = len(ids)
        m = len(members)
        self.batch = b
        self.rounds_led = torch.zeros(m, b, dtype=torch.long)
        self.leaders: list[list[str]] = [[] for _ in range(b)]
        self.last_leader = torch.full((b,), -1, dtype=torch.long)  # -1: no relay yet
        self.scoring_nfe = torch.zeros(b, dtype=torch.long)
        self.budget_exit = torch.zeros(b, dtype=torch.bool)  # left the relay cycle on budget
        self.wins = torch.zeros(m, dtype=torch.long)
        self.contests = torch.zeros(m, dtype=torch.long)
        self.generator = torch.Generator().manual_seed(options.tie_break_seed)
        self.bridge_log: list[dict[str, Any]] = []

    # ---- trajectory generation -------------------------------------------------------------
    def step(self, mem: Member, rnd: int) -> None:
        """One decoder step of one member; updates change counts, signal means and traces."""
        # masks before the step: only step traces report them
        n_masked = (mem.state.x == mem.backend.mask_id).sum(dim=1) if self.trace_steps else None
        s = mem.decoder.step(mem.state, want_signals=True)
        if s is None:
            return
        active = s.active.bool().cpu()
        mem.nfe += active.long()
        scores = self._absorb(mem, s, active)
        mt1 = scores["top1"]
        mem.top1_sum += torch.where(active, mt1, torch.zeros_like(mt1))
        mem.top1_n += active.long()
        if self.trace_steps:
            self._trace_step(mem, rnd, s, active, n_masked, scores)

    def _absorb(self, mem: Member, s: Any, active: torch.Tensor) -> dict[str, torch.Tensor]:
        """One forward's answer signals of the `active` rows join the member's histories: the
        change counts (round and whole decode), the previous top-1 and the last logit scores."""
        cur = s.answer_top1
        norm = self.options.normalise
        act_dev = active.to(cur.device).unsqueeze(1)
        if mem.tracks_block:
            delta = step_change_count(mem.prev_gen_top1, mem.prev_gen_in, s.gen_top1, norm).cpu()
            mem.prev_gen_top1 = torch.where(act_dev, s.gen_top1, mem.prev_gen_top1)
            mem.prev_gen_in = torch.where(act_dev, s.gen_in.bool(), mem.prev_gen_in)
        else:
            delta = step_change_count(mem.prev_top1, mem.prev_in_a, cur, norm).cpu()
            mem.prev_top1 = torch.where(act_dev, cur, mem.prev_top1)
            mem.prev_in_a = torch.where(act_dev, s.in_A.bool(), mem.prev_in_a)
        zero = torch.zeros_like(delta)
        mem.round_count += torch.where(mem.round_valid & active, delta, zero)
        mem.whole_count += torch.where(mem.whole_valid & active, delta, zero)
        mem.round_valid |= active
        mem.whole_valid |= active
        scores = {k: v.cpu() for k, v in logit_scores(s).items()}
        for k, v in scores.items():
            mem.last_scores[k] = torch.where(active, v, mem.last_scores[k])
        mem.own_top1 = torch.where(active, scores["top1"], mem.own_top1)
        tracked = scores["top1"]
        if mem.tracks_block:  # the same mean over A(t) plus the current block
            on = s.gen_in.bool()
            mean = masked_mean(s.gen_p1.nan_to_num(0.0), on).cpu()
            tracked = torch.where(on.any(1).cpu(), mean, tracked)  # none tracked: the answer's
        mem.tracked_top1 = torch.where(active, tracked, mem.tracked_top1)
        return scores

    def _trace_step(self, mem, rnd, s, active, n_masked, scores, lookahead=False) -> None:
        rows = active.nonzero().flatten().tolist()
        if not rows:
            return
        top1 = s.answer_top1.cpu().tolist()
        in_a = s.in_A.bool().cpu().tolist()
        committed = s.committed.bool().cpu()
        x = mem.state.x.cpu()
        n_masked = n_masked.cpu().tolist()
        steps = (mem.nfe if lookahead else mem.nfe - 1).tolist()
        tracked = {}
        if mem.tracks_block:
            gen_top1, gen_in = s.gen_top1.cpu().tolist(), s.gen_in.bool().cpu().tolist()
        for b in rows:
            pos = committed[b].nonzero().flatten()
            if mem.tracks_block:
                tracked = {"gen_top1": gen_top1[b], "gen_in": gen_in[b]}
            self.tracer.add_step(
                {
                    "id": self.ids[b],
                    "method": self.method,
                    "model": mem.name,
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
                    **tracked,
                }
            )

    def observe_last_commit(self, mem: Member, rows_mask: torch.Tensor, rnd: int) -> None:
        """One forward (no commit) on the rows still in the relay cycle: the answer's reaction to
        the round's last commit joins the change counts, as a next step would have seen it."""
        rows = (rows_mask & ~self.done().any(0)).nonzero().flatten()
        if len(rows) == 0:
            return
        r = rows.to(mem.state.x.device)
        s = mem.decoder.answer_signals(mem.state.x[r], mem.state.attention_mask[r], mem.layout)
        self.scoring_nfe[rows] += 1
        lay = mem.layout
        # batch-shaped, as a step's signals are: the looked-at rows' values, the rest empty
        full = empty_signals(mem.state.x, lay.answer, lay.generation if mem.tracks_block else None)
        for f in dataclasses.fields(full):
            if f.name not in ("committed", "active") and getattr(s, f.name) is not None:
                getattr(full, f.name)[r] = getattr(s, f.name)
        active = torch.zeros(self.batch, dtype=torch.bool)
        active[rows] = True
        scores = self._absorb(mem, full, active)
        if self.trace_steps:
            n_masked = (mem.state.x == mem.backend.mask_id).sum(dim=1)
            self._trace_step(mem, rnd, full, active, n_masked, scores, lookahead=True)

    def done(self) -> torch.Tensor:
        """[M, B] which member has no masked position left."""
        return torch.stack([m.state.done().bool().cpu() for m in self.members])

    # ---- assessment --------------------------------------------------------------------------
    def _to_scorer(self, src: Member, dst: Member, rows: torch.Tensor):
        """src's canvases for `rows` in dst's tokens: (x, attention_mask, bridge stats or None)."""
        dev = dst.state.x.device
        if src is dst or self._copyable(src, dst):
            return (
                src.state.x[rows.to(src.state.x.device)].to(dev),
                dst.state.attention_mask[rows.to(dev)],
                None,
            )
        x, stats = translate_rows(
            src.state.x[rows.to(src.state.x.device)].cpu(),
            src.backend,
            src.layout,
            dst.template[rows.to(dst.template.device)].cpu(),
            dst.backend,
            dst.layout,
            self.options.bridge_gaps,
        )
        return x.to(dev), dst.state.attention_mask[rows.to(dev)], stats

    def _copyable(self, src: Member, dst: Member) -> bool:
        same_shape = src.state.x.shape == dst.state.x.shape
        return (
            same_shape
            and region_spans(src.layout) == region_spans(dst.layout)
            and same_tokenizer(src.backend, dst.backend)
        )

    def logit_round_scores(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-model (or source-only) logit scores [M, len(rows)]: one forward per pair."""
        opts = self.options
        out = {
            k: torch.zeros(len(self.members), len(rows), dtype=torch.float64) for k in LOGIT_SCORES
        }
        for i, src in enumerate(self.members):
            scorers = self.members if opts.cross_model else [src]
            acc = {k: torch.zeros(len(rows), dtype=torch.float64) for k in LOGIT_SCORES}
            for dst in scorers:
                x, attn, _ = self._to_scorer(src, dst, rows)
                temp = (opts.calibration or {}).get(dst.name)
                if temp is None:
                    sig = dst.decoder.answer_signals(x, attn, dst.layout)
                else:
                    cfg = _decode_config(dst.c, opts)
                    sig = calibrated_answer_signals(dst.backend, cfg, x, attn, dst.layout, temp)
                self.scoring_nfe[rows] += 1
                for k, v in logit_scores(sig).items():
                    acc[k] += v.cpu()
            for k in LOGIT_SCORES:
                out[k][i] = acc[k] / len(scorers)
        return out

    def eligible(self, rows: torch.Tensor) -> torch.Tensor | None:
        """[M, len(rows)] models allowed to lead (gating), None when gating is off."""
        g = self.options.gating
        if not g.enabled:
            return None
        ok = torch.ones(len(self.members), dtype=torch.bool)
        if g.accuracy_gap is not None and g.accuracies:
            acc = torch.tensor([g.accuracies.get(m.name, float("nan")) for m in self.members])
            best = acc.nan_to_num(-1.0).max()
            ok &= ~(acc < best - g.accuracy_gap)
        if g.min_win_rate is not None:
            rate = self.wins.double() / self.contests.clamp(min=1).double()
            ok &= ~((self.contests >= g.min_rounds) & (rate < g.min_win_rate))
        return ok.unsqueeze(1).expand(-1, len(rows))

    def assess_and_relay(self, rnd: int, in_cycle: torch.Tensor) -> torch.Tensor:
        """Score this round's trajectories, relay the leader; returns the new in_cycle mask."""
        opts = self.options
        done = self.done()
        rows = in_cycle.nonzero().flatten()
        if len(rows) == 0:
            return in_cycle
        tcc = -torch.stack([m.round_count[rows] for m in self.members])
        completed = done[:, rows].any(dim=0)
        relay = (
            ~completed if opts.on_complete == "finish_independently" else torch.ones_like(completed)
        )
        logit = {
            k: torch.stack([m.last_scores[k][rows] for m in self.members]) for k in LOGIT_SCORES
        }
        source = ["last_step"] * len(rows)
        if self.scoring in LOGIT_SCORES and relay.any():
            # forwards only where the score decides a relay; finished rows log the free values
            fresh = self.logit_round_scores(rows[relay])
            for k in LOGIT_SCORES:
                logit[k][:, relay] = fresh[k]
            for j in relay.nonzero().flatten().tolist():
                source[j] = "cross" if opts.cross_model else "source"
        all_scores = {"tcc": tcc, **logit}
        key = "tracked_top1" if opts.tie_break == "tracked_top1" else "own_top1"
        own = torch.stack([getattr(m, key)[rows] for m in self.members])
        eligible = self.eligible(rows)
        leader, tied = argmax_with_ties(
            all_scores[self.scoring],
            opts.tie_break,
            own,
            eligible,
            self.generator,
            incumbent=self.last_leader[rows],
            tolerance=opts.tie_tolerance if self.scoring == "tcc" else 0.0,  # count units
        )
        stats = self._relay(rows[relay], leader[relay])
        for j, b in enumerate(rows.tolist()):
            if relay[j]:
                self.rounds_led[leader[j], b] += 1
                self.leaders[b].append(self.members[leader[j]].name)
                self.last_leader[b] = leader[j]
        contested = relay.nonzero().flatten()
        for i in range(len(self.members)):
            self.contests[i] += len(contested)
            self.wins[i] += int((leader[contested] == i).sum())
        # A relay across tokenizers drops committed tokens after a gap, so relays alone need not
        # make progress (mid-block intervals can cycle forever). A problem whose members have spent
        # a whole decode's budget (one forward per generated token) leaves the cycle after this
        # relay; each member then finishes it on its own, which always terminates. A relay that
        # loses nothing finishes within that budget, so this changes nothing there.
        spent = torch.stack([m.nfe[rows] >= generated_len(m.layout) for m in self.members])
        spent = spent.any(0)
        over = spent & ~completed
        self.budget_exit[rows[over]] = True
        if self.tracer is not None:
            self._trace_round(
                rnd, rows, all_scores, source, leader, tied, relay, eligible, stats, over, own
            )
        new = in_cycle.clone()
        new[rows[completed | over]] = False  # the others finish independently
        return new

    def _relay(self, rows: torch.Tensor, leader: torch.Tensor) -> dict[tuple[int, int], Any]:
        """Replace every non-leader's state by the leader's for each row; returns bridge stats."""
        stats: dict[tuple[int, int], Any] = {}
        for li, src in enumerate(self.members):
            src_rows = rows[leader == li]
            if len(src_rows) == 0:
                continue
            for dst in self.members:
                if dst is src:
                    continue
                dev_rows = src_rows.to(dst.state.x.device)
                if self._copyable(src, dst):
                    dst.state.replace_rows(dev_rows, src.state)
                    per_row: list[BridgeStats | None] = [None] * len(src_rows)
                else:
                    x, per_row = translate_rows(
                        src.state.x[src_rows.to(src.state.x.device)].cpu(),
                        src.backend,
                        src.layout,
                        dst.template[src_rows.to(dst.template.device)].cpu(),
                        dst.backend,
                        dst.layout,
                        self.options.bridge_gaps,
                    )
                    dst.state.set_canvas_rows(dev_rows, x.to(dst.state.x.device))
                for b, st in zip(src_rows.tolist(), per_row):
                    stats[(b, self.members.index(dst))] = st if st is not None else "copy"
                cpu_rows = src_rows.cpu()
                dst.whole_valid[cpu_rows] = False
                dst.round_valid[cpu_rows] = False
        return stats

    def _trace_round(
        self, rnd, rows, scores, source, leader, tied, relay, eligible, stats, over, tie_key
    ) -> None:
        keyed = self.options.tie_break in ("own_top1", "tracked_top1")
        for j, b in enumerate(rows.tolist()):
            lead_name = self.members[leader[j]].name
            for i, mem in enumerate(self.members):
                st = stats.get((b, i))
                bridge = "none" if st is None else ("copy" if st == "copy" else "text")
                text = st if isinstance(st, BridgeStats) else BridgeStats()
                self.tracer.add_round(
                    {
                        "id": self.ids[b],
                        "method": self.method,
                        "round": rnd,
                        "model": mem.name,
                        "score_tcc": float(scores["tcc"][i, j]),
                        "score_top1": float(scores["top1"][i, j]),
                        "score_entropy": float(scores["entropy"][i, j]),
                        "score_margin": float(scores["margin"][i, j]),
                        "logit_source": source[j],
                        "selecting": self.scoring,
                        "leader": lead_name,
                        "tied": bool(tied[j]),
                        "tie_rule": self.options.tie_break,
                        "tie_key": float(tie_key[i, j]) if keyed else None,
                        "gated": bool(eligible is not None and not eligible[i, j]),
                        "relayed": bool(relay[j]),
                        "budget_exit": bool(over[j]),
                        "replaced": bool(relay[j]) and i != int(leader[j]),
                        "bridge": bridge,
                        "tokens_dropped": text.tokens_dropped,
                        "tokens_truncated": text.tokens_truncated,
                        "roundtrip_mismatch": text.roundtrip_mismatch,
                    }
                )

    # ---- the cycle ---------------------------------------------------------------------------
    def run(self) -> None:
        in_cycle = torch.ones(self.batch, dtype=torch.bool)
        if self.scoring is None:
            in_cycle[:] = False
        rnd = 0
        while not self.done().all():
            for mem in self.members:
                mem.round_valid[:] = False
                mem.round_count.zero_()
                ran = torch.zeros(self.batch, dtype=torch.bool)
                for _ in range(self.interval):
                    if bool(mem.state.done().all()):
                        break
                    before = mem.nfe.clone()
                    self.step(mem, rnd)
                    ran |= mem.nfe > before
                if self.options.count_last_commit and self.scoring == "tcc" and in_cycle.any():
                    self.observe_last_commit(mem, in_cycle & ran, rnd)
                mem.last_round_count = torch.where(ran, mem.round_count, mem.last_round_count)
            if in_cycle.any():
                in_cycle = self.assess_and_relay(rnd, in_cycle)
            rnd += 1

    # ---- final selection ---------------------------------------------------------------------
    def finish(
        self,
        wall_s: float,
        rows: list[dict] | None,
        task: Any,
        choose: Any = None,
    ) -> list[MethodOutput]:
        """Final selection and outputs; `choose(candidates per row, default [B]) -> [B]` overrides."""
        opts = self.options
        scope = "whole_count" if opts.selection_tcc == "whole_decode" else "last_round_count"
        counts = torch.stack([getattr(m, scope) for m in self.members])
        top1 = torch.stack([m.top1_sum / m.top1_n.clamp(min=1) for m in self.members])
        names = [m.name for m in self.members]
        if len(self.members) == 1:
            chosen = torch.zeros(self.batch, dtype=torch.long)
        else:
            best = names.index(opts.best_model) if opts.final_selection == "best_model" else None
            chosen = select_final(counts, top1, opts.final_selection, self.rounds_led, best)
        texts = [region_texts(m) for m in self.members]
        nfe = sum(m.nfe for m in self.members) + self.scoring_nfe
        all_cands = []
        for b in range(self.batch):
            cands = []
            for i, mem in enumerate(self.members):
                answer, reasoning = texts[i][b]
                cand = Candidate(
                    model=mem.name,
                    text=answer,
                    reasoning=reasoning,
                    change_count=float(counts[i, b]),
                    mean_top1=float(top1[i, b]),
                    rounds_led=int(self.rounds_led[i, b]),
                )
                if rows is not None:
                    cand.extracted, cand.correct = task.score(answer, rows[b])
                cands.append(cand)
            all_cands.append(cands)
        if choose is not None:
            chosen = choose(all_cands, chosen)
        outs = []
        for b, cands in enumerate(all_cands):
            sel = int(chosen[b])
            if self.tracer is not None:
                for i, cand in enumerate(cands):
                    self.tracer.add_candidate(
                        {
                            "id": self.ids[b],
                            "method": self.method,
                            **{k: getattr(cand, k) for k in _CAND_COLS},
                            "selected": i == sel,
                        }
                    )
            outs.append(
                MethodOutput(
                    method=self.method,
                    prediction=cands[sel].text,
                    reasoning=cands[sel].reasoning,
                    selected_model=names[sel],
                    nfe=int(nfe[b]),
                    wall_s=wall_s / self.batch,
                    candidates=[dataclasses.asdict(c) for c in cands],
                    leaders=list(self.leaders[b]),
                    extra={"budget_exit": True} if bool(self.budget_exit[b]) else {},
                )
            )
        return outs


_CAND_COLS = (
    "model",
    "text",
    "reasoning",
    "extracted",
    "correct",
    "change_count",
    "mean_top1",
    "rounds_led",
)


def region_text(ids: list[int], backend: Any) -> str:
    """Text of a region up to its first EOS (masks and special tokens left out)."""
    eos = set(backend.eos_ids)
    end = next((j for j, t in enumerate(ids) if t in eos), len(ids))
    kept = [t for t in ids[:end] if t != backend.mask_id]
    return backend.tokenizer.decode(kept, skip_special_tokens=True).strip() if kept else ""


def region_texts(mem: Member) -> list[tuple[str, str]]:
    """(answer text, reasoning text) of every row of a member's canvas."""
    spans = region_spans(mem.layout)
    (r0, rl), (a0, al) = spans["reasoning"], spans["answer"]
    out = []
    for row in mem.state.x.cpu().tolist():
        out.append(
            (
                region_text(row[a0 : a0 + al], mem.backend),
                region_text(row[r0 : r0 + rl], mem.backend),
            )
        )
    return out


def parse_method(method: str, names: list[str], options: EnsembleOptions) -> tuple[str, str | None]:
    """('single'|'post'|'tie', scoring or model name); raises naming valid methods."""
    kind, _, arg = method.partition(":")
    if kind == "single":
        if arg not in names:
            raise ValueError(f"method {method!r}: no constituent named {arg!r}; have {names}")
        return kind, arg
    if kind == "post" and not arg:
        return kind, None
    if kind == "tie":
        scoring = arg or options.scoring
        if scoring not in ("tcc", *LOGIT_SCORES):
            raise ValueError(f"method {method!r}: unknown scoring {scoring!r}")
        return kind, scoring
    raise ValueError(
        f"unknown method {method!r}; expected single:<name>, post, tie:<tcc|top1|entropy|margin>, "
        "avg:<mean|product>, vote, oracle"
    )


def validate_constituents(constituents: list[Constituent], options: EnsembleOptions) -> None:
    names = [c.name for c in constituents]
    if not constituents:
        raise ValueError("no constituents given")
    if len(set(names)) != len(names):
        raise ValueError(f"constituent names must be unique, got {names}")
    if options.final_selection == "best_model" and options.best_model not in names:
        raise ValueError(f"best_model {options.best_model!r} is not a constituent ({names})")
    for name in options.calibration or {}:
        if name not in names:
            raise ValueError(f"calibration names unknown constituent {name!r} ({names})")


def problem_ids(prompts: list[str], rows: list[dict] | None) -> list[str]:
    if rows is None:
        return [str(i) for i in range(len(prompts))]
    if len(rows) != len(prompts):
        raise ValueError(f"{len(rows)} rows for {len(prompts)} prompts")
    return [str(r["id"]) for r in rows]


class StepRecorder:
    """Tracer proxy that also keeps the step rows a decode emits (replayed for `post`)."""

    def __init__(self, tracer: Any):
        self._tracer = tracer
        self.steps: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)

    def add_step(self, row: dict[str, Any]) -> None:
        self.steps.append(row)
        self._tracer.add_step(row)


@dataclass
class SharedDecode:
    """A finished `single:<m>` decode that `post` can take as its member m's decode."""

    member: Member
    steps: list[dict[str, Any]]
    wall_s: float


class DecodeShare:
    """Decodes of one batch shared between methods (`post` takes its members' decodes from the
    `single:<m>` methods run before it on the same prompts).

    `post` decodes every constituent alone to the end and then selects: exactly what each
    `single:<m>` decodes, given the same prompts, constituent and options (decoding is
    deterministic: greedy, or noise from a generator seeded per decode). Reusing those decodes
    gives identical predictions, candidates and traces with one decode per constituent instead
    of two. Accounting: `post`'s `nfe` is still the sum of its members' forwards and its
    `wall_s` the reused decodes' wall time plus its own selection time, i.e. what `post` costs
    on its own; the compute saved shows in the run's total wall time only.
    """

    def __init__(self) -> None:
        self.decodes: dict[tuple[str, str, str], SharedDecode] = {}

    @staticmethod
    def key(c: Constituent, options: EnsembleOptions, ids: list[str]) -> tuple[str, str, str]:
        return (c.name, repr(options), repr((ids, c.decode_config)))

    def put(self, c: Constituent, options: EnsembleOptions, ids: list[str], d: SharedDecode):
        self.decodes[self.key(c, options, ids)] = d

    def get_all(
        self, cs: list[Constituent], options: EnsembleOptions, ids: list[str]
    ) -> list[SharedDecode] | None:
        found = [self.decodes.get(self.key(c, options, ids)) for c in cs]
        return None if any(d is None for d in found) else found  # type: ignore[return-value]


def run_method(
    method: str,
    constituents: list[Constituent],
    prompts: list[str],
    task: Any,
    options: EnsembleOptions,
    tracer: Any = None,
    rows: list[dict] | None = None,
    share: DecodeShare | None = None,
) -> list[MethodOutput]:
    """Run one named method on a batch of prompts (see docs/CONTRACTS.md "Ensemble").

    `rows` (optional, the task rows of the prompts) gives trace ids and lets candidates be
    extracted and graded in candidates.parquet; `vote` needs it. `share` (optional, one per
    batch): `single:<m>` leaves its decode there and `post` reuses them (see DecodeShare).
    """
    options.validate()
    validate_constituents(constituents, options)
    ids = problem_ids(prompts, rows)
    if not prompts:
        return []
    names = [c.name for c in constituents]
    if method.startswith(("avg:", "vote", "oracle")):
        from tie.ensemble.baselines import run_baseline

        return run_baseline(method, constituents, prompts, task, options, tracer, rows)
    kind, arg = parse_method(method, names, options)
    if kind != "single" and len(constituents) < 2:
        raise ValueError(f"method {method!r} needs at least two constituents, got {names}")
    chosen = [c for c in constituents if c.name == arg] if kind == "single" else constituents
    t0 = time.perf_counter()
    if kind == "post" and share is not None:
        reused = share.get_all(chosen, options, ids)
        if reused is not None:
            return _post_from_shared(reused, options, ids, tracer, rows, task, t0)
    recording = kind == "single" and share is not None and tracer is not None
    recorder = StepRecorder(tracer) if recording else None
    members = [make_member(c, prompts, task, options) for c in chosen]
    scoring = arg if kind == "tie" else None
    interval = options.interval if kind == "tie" else _HUGE_INTERVAL
    run = MethodRun(method, members, options, scoring, interval, ids, recorder or tracer)
    run.run()
    wall = time.perf_counter() - t0
    if kind == "single" and share is not None:
        steps = recorder.steps if recorder is not None else []
        share.put(chosen[0], options, ids, SharedDecode(members[0], steps, wall))
    return run.finish(wall, rows, task)


def _post_from_shared(
    reused: list[SharedDecode],
    options: EnsembleOptions,
    ids: list[str],
    tracer: Any,
    rows: list[dict] | None,
    task: Any,
    t0: float,
) -> list[MethodOutput]:
    """`post` over finished single decodes: their step traces again under `post` (the rows a
    fresh decode writes, in its order), then post's final selection."""
    run = MethodRun("post", [d.member for d in reused], options, None, _HUGE_INTERVAL, ids, tracer)
    if run.trace_steps:
        for d in reused:
            for row in d.steps:
                tracer.add_step({**row, "method": "post"})
    own = time.perf_counter() - t0
    return run.finish(sum(d.wall_s for d in reused) + own, rows, task)
