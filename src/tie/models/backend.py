"""The MDLM backend contract every constituent model satisfies.

The decoder, the TIE engine and the scorers only ever see this interface, so a new model family
needs one class that fills it in. Logits are *aligned*: position i predicts token i (a backend
for a shifted family such as Dream hides the shift).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
        self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None
    ) -> torch.FloatTensor:
        """Float32 logits [B, L, V] aligned so that position i predicts token i."""
        ...
