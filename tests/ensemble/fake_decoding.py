"""A minimal decoder honouring the `tie.decoding` contract, for pinning the engine by hand.

One token per step, the most confident masked position, reasoning before answer (no blocks), so
every step of a test can be predicted. Logits come from `answer_logits`: the answer region is the
canvas tail, whose predictions are scripted as a function of the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import torch
from fakes import ScriptedBackend, make_tokenizer

from tie.ensemble.signals import signals_from_logits


@dataclass
class FakeConfig:
    exclude_eos_from_answer: bool = True
    eos_answer_cap: int | None = None


@dataclass
class Layout:
    prompt_len: int
    reasoning_len: int
    suffix_ids: list[int]
    answer_len: int


@dataclass
class FakeState:
    x: torch.Tensor
    attention_mask: torch.Tensor
    layout: Layout
    mask_id: int
    replaced: list = field(default_factory=list)

    def done(self) -> torch.Tensor:
        return ~(self.x == self.mask_id).any(dim=1)

    def replace_rows(self, rows, other) -> None:
        self.replaced.append(("copy", rows.tolist()))
        self.x[rows] = other.x[rows]

    def set_canvas_rows(self, rows, x_rows) -> None:
        self.replaced.append(("text", rows.tolist()))
        self.x[rows] = x_rows


def build_canvas(backend, prompt_ids, reasoning_len, suffix_text, answer_len) -> FakeState:
    suffix = backend.tokenizer.encode(suffix_text, add_special_tokens=False)
    p = max(len(ids) for ids in prompt_ids)
    rows, attn = [], []
    for ids in prompt_ids:
        pad = p - len(ids)
        body = ids + [backend.mask_id] * reasoning_len + suffix + [backend.mask_id] * answer_len
        rows.append([backend.pad_id] * pad + body)
        attn.append([0] * pad + [1] * len(body))
    return FakeState(
        torch.tensor(rows),
        torch.tensor(attn),
        Layout(p, reasoning_len, suffix, answer_len),
        backend.mask_id,
    )


class Decoder:
    def __init__(self, backend, config) -> None:
        self.backend, self.config = backend, config

    def _signals(self, logits, x, layout):
        a0 = layout.prompt_len + layout.reasoning_len + len(layout.suffix_ids)
        a1 = a0 + layout.answer_len
        return signals_from_logits(logits[:, a0:a1], x[:, a0:a1], self.backend, self.config)

    def step(self, state: FakeState, want_signals: bool = True):
        active = ~state.done()
        if not active.any():  # the real Decoder's contract: None once every row is done
            return None
        logits = self.backend.logits(state.x, state.attention_mask)
        sig = self._signals(logits, state.x, state.layout)
        probs = logits.softmax(-1)
        conf, top1 = probs.max(-1)
        lay = state.layout
        r0, r1 = lay.prompt_len, lay.prompt_len + lay.reasoning_len
        committed = torch.zeros_like(state.x, dtype=torch.bool)
        for b in active.nonzero().flatten().tolist():
            masked = state.x[b] == state.mask_id
            reasoning = masked.clone()
            reasoning[:r0] = False
            reasoning[r1:] = False
            cand = reasoning if reasoning.any() else masked
            score = torch.where(cand, conf[b], torch.full_like(conf[b], -1.0))
            pos = int(score.argmax())
            state.x[b, pos] = top1[b, pos]
            committed[b, pos] = True
        return SimpleNamespace(**vars(sig), committed=committed, active=active)

    def answer_signals(self, x, attention_mask, layout):
        return self._signals(self.backend.logits(x, attention_mask), x, layout)


def scripted(variant, answer_fn, reason_text="r", name=None, reason_peak=9.0):
    """A backend whose reasoning predictions are `reason_text` chars (left first) and whose last
    A positions predict `answer_fn(row_ids, tokenizer) -> (list of answer strings, peak)`."""
    tok = make_tokenizer(variant)
    vocab = len(tok)
    reason_id = tok.convert_tokens_to_ids(reason_text)

    def fn(input_ids, attention_mask):
        b, seq = input_ids.shape
        out = torch.zeros(b, seq, vocab)
        pos = torch.arange(seq, dtype=torch.float32)
        out[:, :, reason_id] = reason_peak - 0.01 * pos
        for i in range(b):
            chars, peak = answer_fn(input_ids[i].tolist(), tok)
            n = len(chars)
            for j, ch in enumerate(chars):
                out[i, seq - n + j] = 0.0
                out[i, seq - n + j, tok.convert_tokens_to_ids(ch)] = peak
        return out

    return ScriptedBackend(fn, tokenizer=tok, name=name or f"fake-{variant}")
