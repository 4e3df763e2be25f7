"""The decoding loop: one forward pass per step over the unfinished rows, then commits.

Each step: (1) refresh the schedule of rows whose first masked block changed (or was relayed),
(2) one forward over the active rows, (3) answer signals from those logits (optional), (4) pick a
token and a confidence at the masked positions of each row's current block only, (5) commit per
the policy. Vectorised over rows; nothing loops per problem. The forward runs under
`torch.inference_mode()`; the rest under `no_grad`, so states and signals stay ordinary tensors
that callers may edit in place. As in the references, the mask id may be the chosen token (a
commit that leaves the position masked) unless `DecodeConfig.forbid_mask_token`; steps past a
block's budget never choose it, so decoding always ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from tie.decoding.cache import require_kv_cache, step_cache
from tie.decoding.canvas import CanvasLayout, require_mask_id
from tie.decoding.config import DREAM_POLICIES, DecodeConfig, DecodeInputError
from tie.decoding.schedule import (
    BlockPlan,
    dream_quota,
    dream_transfer_prob,
    llada_quota,
    plan_blocks,
)
from tie.decoding.signals import StepSignals, answer_stats, empty_signals
from tie.decoding.state import DecodeState
from tie.models.backend import accepts_span, logits_span

Hook = Callable[[DecodeState, StepSignals | None], None]
# Below this vocabulary size the output head costs less than slicing the canvas around it.
SPAN_MIN_VOCAB = 4096


class Window(NamedTuple):
    """Each row's current block: index, positions [B, bl], tokens there, masked slots."""

    cur: torch.Tensor
    pos: torch.Tensor
    xw: torch.Tensor
    cand: torch.Tensor
    ragged: bool


SUPPRESSED = -1e30  # ranking key of EOS-suppressed candidates: below any real score, above none


class Decoder:
    """Decodes `DecodeState`s of one backend under one `DecodeConfig`."""

    def __init__(
        self, backend, config: DecodeConfig | None = None, span: bool | None = None
    ) -> None:
        """`span`: ask the backend for logits of the window (and answer) only; None: when the
        backend takes `span=` and its vocabulary is large enough for that to pay off."""
        self.backend = backend
        if span is None:
            info = getattr(backend, "info", None)
            span = accepts_span(backend) and getattr(info, "vocab_size", 0) >= SPAN_MIN_VOCAB
        self.span = bool(span)
        self.config = config if config is not None else DecodeConfig()
        if self.config.cache != "none":
            require_kv_cache(backend, self.config.cache)
        self.mask_id = require_mask_id(backend)
        self.eos = torch.tensor(
            sorted(set(backend.eos_ids)), dtype=torch.long, device=backend.device
        )
        self._arange_cache: dict = {}

    def plan(self, state: DecodeState) -> BlockPlan:
        """Validate the state's layout against the config (raises before any compute)."""
        if state.mask_id != self.mask_id:
            raise DecodeInputError(
                f"state was built with mask id {state.mask_id}, this backend uses {self.mask_id}"
            )
        return self._layout_plan(state.layout)

    def run(
        self,
        state: DecodeState,
        n_steps: int | None = None,
        hook: Hook | None = None,
        want_signals: bool | None = None,
        block: bool = False,
    ) -> DecodeState:
        """Up to `n_steps` steps (None: until every row is done); `hook(state, signals)` after each.

        Signals are computed when a hook is given, unless `want_signals` says otherwise; `block`:
        they also report each row's current block (`StepSignals.block_*`).
        """
        plan = self.plan(state)
        want = hook is not None if want_signals is None else want_signals
        taken = 0
        while n_steps is None or taken < n_steps:
            active = state.masked().any(1)
            n_active = int(active.sum())
            if n_active == 0:
                state.invalidate_cache()  # frees the KV cache of a finished state
                break
            signals = self._step(state, active, n_active, want, plan, block)
            taken += 1
            if hook is not None:
                hook(state, signals)
        return state

    def step(
        self, state: DecodeState, want_signals: bool = True, block: bool = False
    ) -> StepSignals | None:
        """One forward pass for the unfinished rows and their commits; None if nothing stepped
        or `want_signals` is False. `block`: the signals also report each row's current block."""
        active = ~state.done()
        n_active = int(active.sum())
        if n_active == 0:
            self.plan(state)
            return None
        return self._step(state, active, n_active, want_signals, block=block)

    @torch.no_grad()
    def answer_signals(
        self,
        x: torch.Tensor,
        attention_mask: torch.Tensor | None,
        layout: CanvasLayout,
        block: bool = False,
    ) -> StepSignals:
        """Signals of canvases `x` under this model (one forward, no commit): cross-model scoring;
        `block`: also each row's current block, as a step would report it."""
        if x.shape[1] != layout.total_len:
            raise DecodeInputError(
                f"canvas length {x.shape[1]} != layout length {layout.total_len}"
            )
        a0, a1 = layout.answer
        win = self._window(x, self._layout_plan(layout)) if block else None
        lo = a0 if win is None else min(a0, int(win.pos.min()))
        with torch.inference_mode():
            if self.span and a1 > lo:
                logits = logits_span(self.backend, x, attention_mask, (lo, a1))
            else:
                logits, lo = self.backend.logits(x, attention_mask), 0
        top1, p1, ent, margin, in_a = self._stats(logits[:, a0 - lo : a1 - lo], x[:, a0:a1])
        out = StepSignals(
            answer_top1=top1,
            top1_prob=p1,
            entropy=ent,
            margin=margin,
            in_A=in_a,
            committed=torch.zeros_like(x, dtype=torch.bool),
            active=torch.ones(x.shape[0], dtype=torch.bool, device=x.device),
        )
        if win is not None:
            out.block_pos, out.block_x, out.block_open = win.pos, win.xw, win.cand
            out.block_top1, out.block_p1 = self._block_stats(
                self._window_logits(logits, win, lo), win
            )
        return out

    # -- internals -----------------------------------------------------------------------------

    @torch.no_grad()
    def _step(
        self,
        state: DecodeState,
        active: torch.Tensor,
        n_active: int,
        want_signals: bool,
        plan: BlockPlan | None = None,
        block: bool = False,
    ) -> StepSignals | None:
        """`step` given the active rows (`n_active` of them, at least one).

        When every row is active (the common case) `rows` is None and the state is read and
        written whole, without per-row gathers and scatters.
        """
        plan = self.plan(state) if plan is None else plan
        rows = None if n_active == state.batch_size else active.nonzero().squeeze(1)
        idx = slice(None) if rows is None else rows
        x = state.x if rows is None else state.x[rows]
        am = state.attention_mask if rows is None else state.attention_mask[rows]
        win = self._window(x, plan)
        lo = 0
        with torch.inference_mode():
            if self.config.cache != "none":  # Fast-dLLM's KV cache (tie.decoding.cache)
                lo, hi = self._logits_span(state, plan, win.cur, want_signals)
                answer = state.layout.answer if want_signals else None
                cache = step_cache(state, self.backend, self.config.cache)
                logits = cache.logits(x, am, rows, win.cur, win.pos, (lo, hi), answer)
            elif self.span:  # the head runs only from the first window to the answer
                lo, hi = self._logits_span(state, plan, win.cur, want_signals)
                logits = logits_span(self.backend, x, am, (lo, hi))
            else:
                logits = self.backend.logits(x, am)
        # the whole window's logits only for the block signals; the commit reads its candidates'
        wl = self._window_logits(logits, win, lo) if want_signals and block else None
        signals = (
            self._signals(state, idx, x, logits, active, lo, win, wl, plan if block else None)
            if want_signals
            else None
        )
        committed = self._commit(state, rows, x, (logits, lo, wl), plan, win, want_signals)
        if rows is None:
            state.steps_taken += 1
            state.nfe += 1
        else:
            state.steps_taken[rows] += 1
            state.nfe[rows] += 1
        if signals is not None:
            signals.committed = committed
        return signals

    def _stats(self, answer_logits: torch.Tensor, x_ans: torch.Tensor) -> tuple[torch.Tensor, ...]:
        cfg = self.config
        return answer_stats(
            answer_logits,
            x_ans,
            self.mask_id,
            self.eos,
            cfg.exclude_eos_from_answer,
            cfg.eos_answer_cap,
        )

    def _signals(
        self, state, idx, x, logits, active, lo: int, win: Window, wl, plan: BlockPlan | None
    ) -> StepSignals:
        """Signals of the stepped rows `idx` (a row index tensor, or `slice(None)`: all rows);
        `logits` start at canvas position `lo`; `wl`: the window's logits (`_window_logits`);
        `plan` (or None): report the current block too."""
        layout = state.layout
        a0, a1 = layout.answer
        block = None if plan is None else (plan.start, plan.block_length)
        out = empty_signals(state.x, (a0, a1), block)
        out.active = active.clone()
        if a1 > a0:
            top1, p1, ent, margin, in_a = self._stats(logits[:, a0 - lo : a1 - lo], x[:, a0:a1])
            out.answer_top1[idx], out.top1_prob[idx], out.entropy[idx] = top1, p1, ent
            out.margin[idx], out.in_A[idx] = margin, in_a
        if plan is not None:
            top1, p1 = self._block_stats(wl, win)
            out.block_pos[idx], out.block_x[idx], out.block_open[idx] = win.pos, win.xw, win.cand
            out.block_top1[idx], out.block_p1[idx] = top1, p1
        return out

    def _block_stats(self, wl: torch.Tensor, win: Window) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-1 (the token where committed) and its probability at each slot of the window."""
        top1, p1, *_ = answer_stats(wl, win.xw, self.mask_id, self.eos, False, None, False)
        return top1, p1

    def _window_logits(
        self, logits: torch.Tensor, win: Window, lo: int, slots: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The current block's logits [B, bl, V] in float32 (the mask id -inf if forbidden);
        `slots` [B, bl] bool: only those slots' rows, [N, V] in row-major order (`wl[slots]`).

        Each pass over a row costs a pass over the vocabulary (126k-152k ids), and the commit
        reads only the open slots (on average half the window): it asks for those rows alone."""
        wpos = win.pos if lo == 0 else win.pos - lo
        b, n, v = logits.shape  # rows of the flat [B * n, V] logits: a copy, 5x faster than gather
        flat = wpos + n * torch.arange(b, device=wpos.device)[:, None]
        flat = flat.flatten() if slots is None else flat[slots]
        wl = logits.reshape(b * n, v).index_select(0, flat).float()
        wl = wl if slots is not None else wl.view(*wpos.shape, v)
        if self.config.forbid_mask_token:
            wl[..., self.mask_id] = float("-inf")
        return wl

    def _layout_plan(self, layout: CanvasLayout) -> BlockPlan:
        return plan_blocks(layout.gen_len, layout.gen_start, self.config)

    def _noise_gen(self, state: DecodeState) -> torch.Generator:
        if state.generator is None:
            state.generator = torch.Generator(device=state.x.device)
            state.generator.manual_seed(0 if self.config.seed is None else int(self.config.seed))
        return state.generator

    def _aranges(self, b: int, bl: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """`arange(bl)` and its `[b, bl]` expansion, cached: built once per shape, not per step."""
        key = (b, bl, device)
        hit = self._arange_cache.get(key)
        if hit is None:
            ar = torch.arange(bl, device=device)
            hit = self._arange_cache[key] = (ar, ar.expand(b, -1).contiguous())
        return hit

    def _window(self, x: torch.Tensor, plan: BlockPlan) -> Window:
        """Each row's current block (that of its first masked position) and its positions."""
        b, seq = x.shape
        bl, start, gen_len = plan.block_length, plan.start, plan.gen_len
        ar, _ = self._aranges(b, bl, x.device)
        first = (x[:, start:] == self.mask_id).to(torch.uint8).argmax(1)
        cur = torch.div(first, bl, rounding_mode="floor")
        pos = (start + bl * cur)[:, None] + ar
        ragged = gen_len % bl != 0
        if ragged:  # the last block is short: clamp its slots past the end, never pick them
            valid = pos < start + gen_len
            pos = pos.clamp(max=seq - 1)
        xw = x.gather(1, pos)
        cand = xw == self.mask_id
        if ragged:
            cand &= valid
        return Window(cur, pos, xw, cand, ragged)

    def _logits_span(self, state, plan: BlockPlan, cur: torch.Tensor, want_signals: bool):
        """(lo, hi): the canvas positions whose logits this step reads (one host read)."""
        c_min, c_max = torch.stack([cur.min(), cur.max()]).tolist()
        bl, seq = plan.block_length, state.x.shape[1]
        lo, hi = plan.start + c_min * bl, min(seq, plan.start + (c_max + 1) * bl)
        if want_signals and state.layout.answer_len:
            a0, a1 = state.layout.answer
            lo, hi = min(lo, a0), max(hi, a1)
        return lo, hi

    def _commit(
        self,
        state,
        rows,
        x,
        read: tuple[torch.Tensor, int, torch.Tensor | None],
        plan: BlockPlan,
        win: Window,
        want_committed: bool = True,
    ) -> torch.Tensor | None:
        """Commit per the policy for `rows` (None: every row; `x` is then `state.x` itself, so
        nothing may read `x` after the write); `read`: the step's logits, the canvas position
        they start at, and the window's logits when already made (`_window_logits`) or None.
        Returns the `[B, L]` committed mask, or None when not `want_committed`."""
        cfg = self.config
        idx = slice(None) if rows is None else rows
        b, bl = x.shape[0], plan.block_length
        _, ar_b = self._aranges(b, bl, x.device)
        cur, pos, xw, cand, ragged = win.cur, win.pos, win.xw, win.cand.clone(), win.ragged
        # (1) schedule refresh when the current block changed or the row was relayed
        remaining = cand.sum(-1)
        old, resched = state.cur_block[idx], state.resched[idx]
        reset = (cur != old) | resched
        if plan.steps_per_block is None:
            spb_new = remaining.clamp(min=1)
        else:
            left = (state.blk_spb[idx] - state.blk_step[idx]).clamp(min=1)
            spb_new = torch.where(
                (cur == old) & resched, left, torch.full_like(left, plan.steps_per_block)
            )
        zero = torch.zeros_like(remaining)
        blk_n = torch.where(reset, remaining, state.blk_n[idx])
        blk_spb = torch.where(reset, spb_new, state.blk_spb[idx])
        blk_step = torch.where(reset, zero, state.blk_step[idx])
        carry = torch.where(reset, zero, state.carry[idx])

        # (2) quota per row
        if cfg.schedule == "llada":
            quota = llada_quota(blk_n, blk_spb, blk_step) + carry
            quota = torch.where(blk_step >= blk_spb, remaining, quota)
        elif cfg.schedule == "dream":
            quota = dream_quota(remaining, blk_spb, blk_step, cfg.dream_eps)
        else:
            quota = torch.full_like(remaining, cfg.k)

        # (3) the current block's candidates
        if state.layout.answer_len:  # no answer span: every window position is a candidate
            r0, r1 = state.layout.reasoning
            reasoning_open = (x[:, r0:r1] == self.mask_id).any(1)
            cand &= (pos < state.layout.answer[0]) | ~reasoning_open[:, None]

        # (4)-(5) token, confidence and the committed positions. Past a block's step budget the
        # mask id is never chosen (the references stop there; we finish the block). Only the
        # candidates' logits are read: a token or confidence elsewhere would never be used.
        logits, lo, wl = read
        cl = self._window_logits(logits, win, lo, cand) if wl is None else wl[cand]
        over = blk_step >= blk_spb if cfg.schedule not in ("threshold", "topk") else None
        x0, sel = self._pick(state, x, cl, cand, pos, quota, blk_step, blk_spb, over)
        if over is None and not cfg.forbid_mask_token:
            # threshold/topk: a row whose every commit is the mask id would repeat this step
            # forever (the references hang); pick again for it with the mask id forbidden
            stall = cand.any(-1) & ~(sel & (x0 != self.mask_id)).any(-1)
            if bool(stall.any()):
                x0b, selb = self._pick(state, x, cl, cand, pos, quota, blk_step, blk_spb, stall)
                x0 = torch.where(stall[:, None], x0b, x0)
                sel = torch.where(stall[:, None], selb, sel)
        spent = sel  # a commit of the mask id spends quota but leaves the position masked
        sel = sel & (x0 != self.mask_id)
        if ragged:  # clamped window slots repeat seq - 1: write the committed ones only
            ri, ci = sel.nonzero(as_tuple=True)
            row_ids = ri if rows is None else rows[ri]
            state.x[row_ids, pos[ri, ci]] = x0[ri, ci]
        elif rows is None:
            state.x.scatter_(1, pos, torch.where(sel, x0, xw))
        else:
            state.x[rows] = x.scatter_(1, pos, torch.where(sel, x0, xw))
        if cfg.schedule == "llada":
            carry = torch.where(blk_step < blk_spb, (quota - spent.sum(-1)).clamp(min=0), zero)
        blk_step = blk_step + 1
        if rows is None:
            state.cur_block, state.blk_n, state.blk_spb = cur, blk_n, blk_spb
            state.blk_step, state.carry = blk_step, carry
            state.resched = torch.zeros_like(resched)
        else:
            state.cur_block[rows], state.blk_n[rows], state.blk_spb[rows] = cur, blk_n, blk_spb
            state.blk_step[rows], state.carry[rows] = blk_step, carry
            state.resched[rows] = False
        if not want_committed:
            return None
        committed = torch.zeros_like(state.x, dtype=torch.bool)
        if ragged:
            committed[row_ids, pos[ri, ci]] = True
        elif rows is None:
            committed.scatter_(1, pos, sel)
        else:
            committed[rows] = torch.zeros_like(x, dtype=torch.bool).scatter_(1, pos, sel)
        return committed

    def _pick(
        self, state, x, cl, cand, pos, quota, blk_step, blk_spb, no_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0 [b, bl], sel [b, bl]): each window slot's token and the slots to commit, from
        `cl` [N, V], the logits of the candidate slots `cand` in row-major order (elsewhere x0
        is the mask id: never committed, never read).

        `no_mask` [b] (or None): rows whose choice must not be the mask id."""
        cfg = self.config
        if not cfg.forbid_mask_token and no_mask is not None and bool(no_mask.any()):
            cl = cl.clone()
            cl[no_mask[cand.nonzero()[:, 0]], self.mask_id] = float("-inf")
        if cfg.policy in DREAM_POLICIES and cfg.dream_confidence != "random":
            return self._dream_pick(state, x, cl, cand, pos, quota, blk_step, blk_spb)
        if cfg.temperature > 0:  # the noise of every window slot is drawn, as before
            u = torch.rand(
                (*cand.shape, cl.shape[-1]),
                dtype=torch.float64,
                generator=self._noise_gen(state),
                device=cl.device,
            )
            gumbel = -torch.log(-torch.log(u[cand].clamp(min=1e-300)))
            tok = (cl.double() / cfg.temperature + gumbel).argmax(-1)
        else:
            tok = cl.argmax(-1)
        x0 = torch.full(cand.shape, self.mask_id, dtype=torch.long, device=cl.device)
        x0[cand] = tok
        conf = self._confidence(state, cl, tok, cand)
        if cfg.suppress_eos_confidence:
            supp = torch.isin(x0, self.eos)
            conf = conf.masked_fill(supp, SUPPRESSED)
        key = torch.where(cand, conf, float("-inf"))
        order = key.argsort(dim=-1, descending=True, stable=True)
        if cfg.schedule == "threshold":  # every confident candidate, and the best
            sure = conf >= cfg.threshold
            if cfg.suppress_eos_confidence:
                sure &= ~supp
            best = torch.zeros_like(cand).scatter_(1, order[:, :1], True)
            return x0, cand & (sure | best)
        _, ar_b = self._aranges(x.shape[0], cand.shape[1], x.device)
        return x0, cand & torch.zeros_like(cand).scatter_(1, order, ar_b < quota[:, None])

    def _dream_pick(
        self, state, x, cl, cand, pos, quota, blk_step, blk_spb
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Dream's `_sample` step over the window: `sample_tokens` on the masked slots (row-major,
        as `logits[mask_index]`), then the top-`quota` (or `alg_temp`-sampled) confident slots;
        `dream_origin`: each masked slot commits with probability 1 - s/t (the last step: all)."""
        cfg = self.config
        # Dream's arithmetic runs in the logits' dtype (the model's): bfloat16 logits cast to
        # float32 and back are exact, so a bfloat16 model gets bfloat16 softmax and ranking
        dtype = getattr(self.backend, "dtype", torch.float32)
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            dtype = torch.float32
        flat = cl.to(dtype)  # [N, V]: the masked slots in Dream's (row-major) order
        if cfg.policy == "dream_origin":
            p = dream_transfer_prob(blk_spb, blk_step, cfg.dream_eps).to(cl.device)
            row_of = cand.nonzero()[:, 0]
            u = torch.rand(flat.shape[0], generator=self._noise_gen(state), device=cl.device)
            go = u < p[row_of]
            _, tok = self._sample_tokens(state, flat[go], need_conf=False)
            x0 = torch.full(cand.shape, self.mask_id, dtype=torch.long, device=cl.device)
            sub = torch.full((flat.shape[0],), self.mask_id, dtype=torch.long, device=cl.device)
            sub[go] = tok
            x0[cand] = sub
            sel = torch.zeros_like(cand)
            sel[cand] = go
            return x0, sel
        conf_flat, tok = self._sample_tokens(state, flat)
        x0 = torch.full(cand.shape, self.mask_id, dtype=torch.long, device=cl.device)
        x0[cand] = tok
        conf = torch.full(cand.shape, float("-inf"), dtype=dtype, device=cl.device)
        conf[cand] = conf_flat
        # Dream ranks (or, with alg_temp, draws) over the whole canvas [B, L] with -inf off the
        # masks; doing the same keeps its tie order (one-hot distributions under top-p tie a lot)
        full = torch.full(x.shape, float("-inf"), dtype=dtype, device=cl.device)
        full.scatter_(1, pos, conf)
        if cfg.alg_temp:
            full = torch.softmax(full / cfg.alg_temp, dim=-1)
        sel = torch.zeros_like(cand)
        q = quota.tolist()
        groups = [list(range(len(q)))] if len(set(q)) == 1 else [[r] for r in range(len(q))]
        for rows_ in groups:  # one call for the batch when quotas agree (Dream's case)
            n = min(q[rows_[0]], int(cand[rows_].sum(-1).min()))
            if n <= 0:
                continue
            if cfg.alg_temp:
                idx = torch.multinomial(full[rows_], n, generator=self._noise_gen(state))
            else:
                idx = torch.topk(full[rows_], n).indices
            hit = torch.zeros(len(rows_), x.shape[1], dtype=torch.bool, device=cl.device)
            hit.scatter_(1, idx, True)
            sel[rows_] = hit.gather(1, pos[rows_])
        return x0, sel & cand

    def _sample_tokens(
        self, state, logits: torch.Tensor, need_conf: bool = True
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Dream's `sample_tokens` on `logits` [N, V]: (confidence, token)."""
        cfg = self.config
        if logits.shape[0] == 0:
            empty = torch.zeros(0, device=logits.device)
            return empty, torch.zeros(0, dtype=torch.long, device=logits.device)
        if cfg.temperature > 0:
            logits = logits / cfg.temperature
        if cfg.top_p is not None and cfg.top_p < 1:
            logits = top_p_logits(logits, cfg.top_p)
        if cfg.top_k is not None:
            logits = top_k_logits(logits, cfg.top_k)
        probs = torch.softmax(logits, dim=-1)
        if cfg.temperature > 0:
            norm = probs / probs.sum(-1, keepdim=True)  # torch.distributions.Categorical's
            tok = torch.multinomial(norm, 1, True, generator=self._noise_gen(state))[:, 0]
            conf = probs.gather(-1, tok[:, None])[:, 0]
        else:
            conf, tok = probs.max(dim=-1)
        if not need_conf:
            return None, tok
        if cfg.dream_confidence == "margin":
            top = probs.sort(dim=-1, descending=True).values
            conf = top[:, 0] - top[:, 1]
        elif cfg.dream_confidence == "entropy":
            conf = (probs * torch.log(probs + 1e-10)).sum(-1)
        return conf, tok

    def _confidence(
        self, state, cl: torch.Tensor, tok: torch.Tensor, cand: torch.Tensor
    ) -> torch.Tensor:
        """Ranking score [b, bl] at each window slot from the untempered distribution, computed
        at the candidates `cand` (logits `cl` [N, V], tokens `tok` [N]); -inf elsewhere."""
        kind = self.config.confidence
        if kind == "random":  # drawn for every slot, so the generator advances as before
            return torch.rand(cand.shape, generator=self._noise_gen(state), device=cand.device)
        logp = torch.log_softmax(cl, dim=-1)
        if kind == "prob":
            score = logp.gather(-1, tok[..., None]).squeeze(-1).exp()
        else:
            p = logp.exp()
            if kind == "margin":
                top = p.topk(2, dim=-1).values
                score = top[..., 0] - top[..., 1]
            else:
                score = torch.where(p > 0, p * logp, torch.zeros_like(p)).sum(-1)  # -entropy
        conf = torch.full(cand.shape, float("-inf"), dtype=score.dtype, device=cand.device)
        conf[cand] = score
        return conf


def top_p_logits(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Nucleus filter as Dream's `top_p_logits`: drop tokens past cumulative probability top_p
    (the first one always stays), filling them with the dtype's minimum."""
    sorted_logits, sorted_idx = torch.sort(logits, descending=True)
    cum = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1)
    drop = cum > top_p
    drop[..., 1:] = drop[..., :-1].clone()
    drop[..., 0] = False
    mask = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, sorted_idx, drop)
    return logits.masked_fill(mask, torch.finfo(logits.dtype).min)


def top_k_logits(logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """Keep the top_k logits (ties with the k-th kept), as Dream's `top_k_logits`."""
    k = min(top_k, logits.shape[-1])
    kth = torch.topk(logits, k)[0][..., -1, None]
    return logits.masked_fill(logits < kth, torch.finfo(logits.dtype).min)
