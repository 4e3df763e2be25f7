"""Decoding options (`DecodeConfig`) and the error raised for bad decoding input."""

from __future__ import annotations

from dataclasses import dataclass

POLICIES = ("low_confidence", "random", "margin", "entropy", "dream", "threshold", "topk")
CONFIDENCES = ("prob", "margin", "entropy", "random")
ROUNDINGS = ("strict", "ceil")


class DecodeInputError(ValueError):
    """Bad decoding input (layout, lengths, tokenizer, options); raised before any forward pass."""


@dataclass
class DecodeConfig:
    """How one model decodes its canvas.

    `steps` is the total number of steps over the generation region; None means one token per
    step (each block gets as many steps as it has masks). `rounding="strict"` requires the
    generation length to be a multiple of `block_length` and `steps` a multiple of the number of
    blocks (LLaDA's asserts); `"ceil"` allows a shorter last block and uses ceil(steps / blocks)
    steps per block (LLaDA's app.py / dllm). `dream_confidence` is the ranking score of the
    `dream` policy (Dream-Instruct evaluations use "entropy"); every confidence is computed from
    the untempered distribution.
    """

    block_length: int = 16
    steps: int | None = None
    policy: str = "low_confidence"
    temperature: float = 0.0
    threshold: float = 0.9
    k: int = 2
    suppress_eos_confidence: bool = False
    eos_answer_cap: int | None = None
    exclude_eos_from_answer: bool = True
    seed: int | None = 0
    rounding: str = "strict"
    dream_eps: float = 1e-3
    dream_confidence: str = "entropy"

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise DecodeInputError(f"unknown policy {self.policy!r}; choose one of {POLICIES}")
        if not _is_int(self.block_length) or self.block_length < 1:
            raise DecodeInputError(
                f"block_length must be an integer >= 1, got {self.block_length!r}"
            )
        if self.steps is not None and (not _is_int(self.steps) or self.steps < 1):
            raise DecodeInputError(f"steps must be None or an integer >= 1, got {self.steps!r}")
        if self.temperature < 0:
            raise DecodeInputError(f"temperature must be >= 0, got {self.temperature}")
        if not 0.0 < self.threshold <= 1.0:
            raise DecodeInputError(f"threshold must be in (0, 1], got {self.threshold}")
        if not _is_int(self.k) or self.k < 1:
            raise DecodeInputError(f"k must be an integer >= 1, got {self.k!r}")
        if self.eos_answer_cap is not None and (
            not _is_int(self.eos_answer_cap) or self.eos_answer_cap < 1
        ):
            raise DecodeInputError(
                f"eos_answer_cap must be None or >= 1, got {self.eos_answer_cap!r}"
            )
        if self.rounding not in ROUNDINGS:
            raise DecodeInputError(f"rounding must be one of {ROUNDINGS}, got {self.rounding!r}")
        if not 0.0 < self.dream_eps < 1.0:
            raise DecodeInputError(f"dream_eps must be in (0, 1), got {self.dream_eps}")
        if self.dream_confidence not in CONFIDENCES:
            raise DecodeInputError(
                f"dream_confidence must be one of {CONFIDENCES}, got {self.dream_confidence!r}"
            )

    @property
    def schedule(self) -> str:
        """Which commit-count rule the policy uses: llada | dream | threshold | topk."""
        return {"dream": "dream", "threshold": "threshold", "topk": "topk"}.get(
            self.policy, "llada"
        )

    @property
    def confidence(self) -> str:
        """Which score ranks the candidates: prob | margin | entropy | random."""
        return {
            "random": "random",
            "margin": "margin",
            "entropy": "entropy",
            "dream": self.dream_confidence,
        }.get(self.policy, "prob")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
