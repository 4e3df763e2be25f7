"""A trajectory: one constituent's decode of a batch and the histories TIE reads from it.

`Trajectory.decode(n)` is the loop's one call per member per round: up to n decoder steps, each
folding its signals into the histories the round reads (the token change count over the round and
over the whole decode, the last step's logit scores, the tie key, the forwards spent). A relay
restarts the replaced rows' histories (`restart_histories`). Trace rows are not built here: each
step is reported to the loop's observer (`tie.ensemble.trace`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from tie.decoding.signals import empty_signals
from tie.ensemble.bridge import region_spans
from tie.ensemble.options import Constituent, EnsembleOptions
from tie.ensemble.registry import CHANGE_POSITIONS
from tie.ensemble.scoring import logit_scores, step_change_count

FREE_LOGIT_SCORES = ("top1", "entropy", "margin")


def decoding_api() -> tuple[Any, Any]:
    """(Decoder, build_canvas) of `tie.decoding`; tests substitute a hand-checkable decoder."""
    from tie.decoding import Decoder, build_canvas

    return Decoder, build_canvas


def generated_len(layout: Any) -> int:
    """Tokens a decode generates (reasoning + answer; the suffix is given): a lossless decode
    commits at least one per forward, so this bounds its forwards."""
    return int(layout.reasoning_len) + int(layout.answer_len)


class Trajectory:
    """One constituent's canvases for every prompt of a batch, its decoder and its histories."""

    def __init__(
        self, c: Constituent, prompts: list[str], task: Any, options: EnsembleOptions
    ) -> None:
        from tie.decoding.canvas import task_regions

        Decoder, build_canvas = decoding_api()  # noqa: N806
        self.c, self.normalise = c, options.normalise
        self.config = c.decode_config  # A(t): its exclude_eos_from_answer, eos_answer_cap
        self.positions = CHANGE_POSITIONS.get(options.experimental.change_positions)()
        prompt_ids = [c.backend.chat_prompt(p) for p in prompts]
        reasoning, answer = task_regions(c.backend, task, self.config)  # the paper's G
        self.state = build_canvas(c.backend, prompt_ids, reasoning, task.answer_suffix, answer)
        self.decoder = Decoder(c.backend, self.config)
        self.block = {"block": True} if self.positions.block else {}  # block signals wanted
        self.template = self.state.x.clone()  # own prompt + suffix, for bridging into it
        b, self.dev = self.state.x.shape[0], self.state.x.device
        w = self.positions.width(self.state.layout)
        self.prev_top1 = torch.zeros(b, w, dtype=torch.long, device=self.dev)  # last step's top-1
        self.prev_in = torch.zeros(b, w, dtype=torch.bool, device=self.dev)  # ... what it tracked
        self.h = new_histories(b, self.dev)  # on the member's device: read back at round's end

    def __getattr__(self, name: str) -> Any:
        """A history by name (`round_count`, `nfe`, ... see HISTORIES), read back to the CPU."""
        h = self.__dict__.get("h")
        if h is None or name not in HISTORIES:
            raise AttributeError(name)
        return h[name].cpu()

    @property
    def last_scores(self) -> dict[str, torch.Tensor]:
        """The last step's logit scores [B] by name (on the CPU)."""
        return {k: self.h[k].cpu() for k in FREE_LOGIT_SCORES}

    name = property(lambda self: self.c.name)
    backend = property(lambda self: self.c.backend)
    layout = property(lambda self: self.state.layout)

    def done(self) -> torch.Tensor:
        """[B] rows with no masked position left (on the CPU)."""
        return self.state.done().bool().cpu()

    def decode(self, n_steps: int, rnd: int, observer: Any) -> torch.Tensor:
        """Up to `n_steps` steps of the unfinished rows; returns [B] which rows stepped (on the
        CPU: the round's one read-back of the histories; the decoder's own reads aside, the steps
        read nothing back unless the observer traces them)."""
        h = self.h
        h["round_valid"].zero_()
        h["round_count"].zero_()
        ran = torch.zeros_like(h["round_valid"])
        for _ in range(n_steps):
            active = self.step(rnd, observer)
            if active is None:  # every row done
                break
            ran |= active
        h["last_round_count"] = torch.where(ran, h["round_count"], h["last_round_count"])
        return ran.cpu()

    def step(self, rnd: int, observer: Any) -> torch.Tensor | None:
        """One decoder step; its signals join the histories. Returns [B] the rows that stepped
        (on the member's device), None when every row is done."""
        wants = observer.wants_steps
        n_masked = (self.state.x == self.backend.mask_id).sum(dim=1) if wants else None
        s = self.decoder.step(self.state, want_signals=True, **self.block)
        if s is None:
            return None
        h, active = self.h, s.active.bool()
        scores = self._absorb(s, active)
        h["nfe"] += active.long()
        h["top1_sum"] += torch.where(active, scores["top1"], torch.zeros_like(scores["top1"]))
        h["top1_n"] += active.long()
        if wants:
            observer.on_step(self, rnd, s, active, n_masked, scores, False)
        return active

    def look_ahead(self, rows_mask: torch.Tensor, rnd: int, observer: Any) -> torch.Tensor:
        """One forward (no commit) on `rows_mask`: the answer's reaction to the round's last
        commit joins the change counts, as a next step would have seen it. Returns the rows."""
        rows = rows_mask.nonzero().flatten()
        if len(rows) == 0:
            return rows
        r = rows.to(self.state.x.device)
        x, am = self.state.x[r], self.state.attention_mask[r]
        s = self.decoder.answer_signals(x, am, self.layout, **self.block)
        # batch-shaped, as a step's signals are: the looked-at rows' values, the rest empty
        block = (self.layout.gen_start, s.block_pos.shape[1]) if self.positions.block else None
        full = empty_signals(self.state.x, self.layout.answer, block)
        for f in dataclasses.fields(full):
            if f.name not in ("committed", "active") and getattr(s, f.name) is not None:
                getattr(full, f.name)[r] = getattr(s, f.name)
        active = torch.zeros_like(self.h["round_valid"])
        active[r] = True
        scores = self._absorb(full, active)
        self.h["last_round_count"][r] = self.h["round_count"][r]
        if observer.wants_steps:
            n_masked = (self.state.x == self.backend.mask_id).sum(dim=1)
            observer.on_step(self, rnd, full, active, n_masked, scores, True)
        return rows

    def _absorb(self, s: Any, active: torch.Tensor) -> dict[str, torch.Tensor]:
        """One forward's signals of the `active` rows join the histories: the change counts
        (round and whole decode), the previous top-1, the last logit scores and the tie keys.
        Everything stays on the member's device (no read-back)."""
        self.read = read = self.positions.read(s, self.state.x, self.layout, self.backend.mask_id)
        h, top1, tracked = self.h, read.top1, read.tracked
        active = active.to(self.dev)
        act = active.unsqueeze(1)
        delta = step_change_count(self.prev_top1, self.prev_in, top1, self.normalise)
        self.prev_top1 = torch.where(act, top1, self.prev_top1)
        self.prev_in = torch.where(act, tracked, self.prev_in)
        zero = torch.zeros_like(delta)
        h["round_count"] += torch.where(h["round_valid"] & active, delta, zero)
        h["whole_count"] += torch.where(h["whole_valid"] & active, delta, zero)
        h["round_valid"] |= active
        h["whole_valid"] |= active
        scores = logit_scores(s)
        for k, v in scores.items():
            h[k] = torch.where(active, v, h[k])
        h["own_top1"] = torch.where(active, scores["top1"], h["own_top1"])
        key = self.positions.tie_key(read, scores["top1"])
        h["tracked_top1"] = torch.where(active, key, h["tracked_top1"])
        return scores

    def restart_histories(self, rows: torch.Tensor) -> None:
        """A relay replaced these rows' canvases: their change counts start again."""
        rows = rows.to(self.dev)
        self.h["whole_valid"][rows] = False
        self.h["round_valid"][rows] = False

    def texts(self) -> list[tuple[str, str]]:
        """(answer text, reasoning text) of every row's canvas."""
        spans = region_spans(self.layout)
        (r0, rl), (a0, al) = spans["reasoning"], spans["answer"]
        return [
            (
                region_text(row[a0 : a0 + al], self.backend),
                region_text(row[r0 : r0 + rl], self.backend),
            )
            for row in self.state.x.cpu().tolist()
        ]


HISTORIES = {  # name: dtype; every history is [B]
    "round_valid": torch.bool,  # a previous step in this round
    "whole_valid": torch.bool,  # ... since the last relay into it
    "round_count": torch.float64,  # token change count over the round
    "whole_count": torch.float64,  # ... over the whole decode (since the last relay)
    "last_round_count": torch.float64,  # the count of the last round it stepped in
    "top1_sum": torch.float64,  # sum over steps of the mean answer top-1 ...
    "top1_n": torch.long,  # ... and the number of steps
    "own_top1": torch.float64,  # last step's mean answer top-1 (tie key, TIE_SPEC)
    "tracked_top1": torch.float64,  # ... over the positions the change count reads
    "nfe": torch.long,  # forwards spent
    **dict.fromkeys(FREE_LOGIT_SCORES, torch.float64),  # the last step's logit scores
}


def new_histories(b: int, dev: torch.device) -> dict[str, torch.Tensor]:
    """Zeroed histories of a batch of `b` rows on `dev`."""
    return {k: torch.zeros(b, dtype=dt, device=dev) for k, dt in HISTORIES.items()}


def region_text(ids: list[int], backend: Any) -> str:
    """Text of a region up to its first EOS (masks and special tokens left out)."""
    eos = set(backend.eos_ids)
    end = next((j for j, t in enumerate(ids) if t in eos), len(ids))
    kept = [t for t in ids[:end] if t != backend.mask_id]
    return backend.tokenizer.decode(kept, skip_special_tokens=True).strip() if kept else ""
