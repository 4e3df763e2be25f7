"""The MDLM backend contract every constituent model satisfies.

The decoder, the TIE engine and the scorers only ever see this interface, so a new model family
needs one class that fills it in. Logits are *aligned*: position i predicts token i (a backend
for a shifted family such as Dream hides the shift).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, runtime_checkable

import torch
from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class BackendInfo:
    """Static facts about a backend, logged with every run."""

    name: str  # e.g. "llada-8b-instruct" or "zoo:llada-a"
    family: str  # "llada" | "dream" | other
    shift: bool  # True when the raw model output at i-1 predicts token i (hidden by logits())
    vocab_size: int
    extra: dict = field(default_factory=dict)


@runtime_checkable
class MDLMBackend(Protocol):
    info: BackendInfo
    tokenizer: PreTrainedTokenizerBase
    mask_id: int
    eos_ids: tuple[int, ...]  # every id meaning end of text / end of turn / pad
    pad_id: int
    max_length: int
    device: torch.device
    dtype: torch.dtype

    def chat_prompt(self, user_message: str, system: str | None = None) -> list[int]:
        """Token ids of the prompt with this family's chat template applied (generation prompt on)."""
        ...

    def logits(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        span: tuple[int, int] | None = None,
    ) -> torch.FloatTensor:
        """Float32 logits [B, L, V] aligned so that position i predicts token i; with
        `span=(lo, hi)` only positions lo..hi-1 ([B, hi - lo, V]). `span` is optional for a
        backend: the decoder passes it only to backends whose `logits` accepts it."""
        ...


def check_span(span: tuple[int, int] | None, length: int) -> tuple[int, int]:
    """(lo, hi) of a logits span over a canvas of `length` (None: all of it)."""
    if span is None:
        return 0, length
    lo, hi = (int(v) for v in span)
    if not 0 <= lo < hi <= length:
        raise ValueError(f"logits span {span} is not a non-empty range inside [0, {length}]")
    return lo, hi


def accepts_span(backend) -> bool:
    """Whether `backend.logits` takes `span=` (optional in the contract)."""
    return takes_argument(backend.logits, "span")


def takes_argument(fn, name: str) -> bool:
    """Whether callable `fn` (a bound method counts as its function) has a parameter `name`."""
    return _has_parameter(getattr(fn, "__func__", fn), name)


@cache
def _has_parameter(fn, name: str) -> bool:
    """Per function, not per call: `logits_span` asks on every decoding step."""
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def logits_span(
    backend, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, span: tuple[int, int]
) -> torch.Tensor:
    """`backend.logits` of positions span[0]..span[1]-1, computed only there when it can be."""
    if span is None:
        return backend.logits(input_ids, attention_mask)
    if accepts_span(backend):
        return backend.logits(input_ids, attention_mask, span=span)
    lo, hi = check_span(span, input_ids.shape[1])
    return backend.logits(input_ids, attention_mask)[:, lo:hi]
