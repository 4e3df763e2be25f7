"""Decoding options (`DecodeConfig`) and the error raised for bad decoding input."""

from __future__ import annotations

from dataclasses import dataclass, field

POLICIES = (
    "low_confidence", "random", "margin", "entropy", "dream", "dream_origin", "threshold", "topk",
)  # fmt: skip
DREAM_POLICIES = ("dream", "dream_origin")
CONFIDENCES = ("prob", "margin", "entropy", "random")
ROUNDINGS = ("strict", "ceil")
CACHES = ("none", "prefix", "dual")  # tie.decoding.cache


class DecodeInputError(ValueError):
    """Bad decoding input (layout, lengths, tokenizer, options); raised before any forward pass."""


@dataclass
class DecodeConfig:
    """How one model decodes its canvas. (`choices` metadata: the valid values, which the run
    config's schema reads without building one.)

    `steps` is the total number of steps over the generation region; None means one token per
    step (each block gets as many steps as it has masks). `rounding="strict"` requires the
    generation length to be a multiple of `block_length` and `steps` a multiple of the number of
    blocks (LLaDA's asserts); `"ceil"` allows a shorter last block and uses ceil(steps / blocks)
    steps per block (LLaDA's app.py / dllm). `dream_confidence` is the ranking score of the
    `dream` policy (Dream-Instruct evaluations use "entropy"); every confidence is computed from
    the untempered distribution, except under the Dream policies (below).

    Reference behaviour is the default; each deviation is an option (docs/CONTRACTS.md, "Deviations
    from the reference code"). `forbid_mask_token=False` (the references): the mask id may be the
    chosen token, and committing it leaves the position masked (the step's quota is spent). Steps
    past a block's budget, and threshold/topk steps that would commit nothing but the mask id (the
    references would hang there), forbid it, so decoding always ends. True: never choose it.

    The Dream policies (`dream`: Dream's confidence algorithms, `dream_origin`: Dream's `origin`,
    each masked position commits with probability 1 - s/t) follow Dream's `sample_tokens`: logits
    / temperature, then `top_p`, then `top_k` filtering, one softmax; the token is its argmax
    (temperature 0) or a categorical draw, and the confidence is read from that same distribution.
    `alg_temp` > 0 draws the committed positions from softmax(confidence / alg_temp) instead of
    taking the top ones. Random draws follow Dream's order on the decoder's generator, so a seed
    reproduces `diffusion_generate` after `torch.manual_seed(seed)` (one block over the generation).
    """

    block_length: int = 16
    steps: int | None = None
    policy: str = field(default="low_confidence", metadata={"choices": POLICIES})
    temperature: float = 0.0
    threshold: float = 0.9
    k: int = 2
    suppress_eos_confidence: bool = False
    eos_answer_cap: int | None = None
    exclude_eos_from_answer: bool = True
    seed: int | None = 0
    rounding: str = field(default="strict", metadata={"choices": ROUNDINGS})
    dream_eps: float = 1e-3
    dream_confidence: str = field(default="entropy", metadata={"choices": CONFIDENCES})
    forbid_mask_token: bool = False
    top_p: float | None = None
    top_k: int | None = None
    alg_temp: float | None = None
    # Fast-dLLM KV cache: none (exact) | prefix | dual (tie.decoding.cache)
    cache: str = field(default="none", metadata={"choices": CACHES})

    def __post_init__(self) -> None:
        if self.cache not in CACHES:
            raise DecodeInputError(f"cache must be one of {CACHES}, got {self.cache!r}")
        if self.policy not in POLICIES:
            raise DecodeInputError(f"unknown policy {self.policy!r}; choose one of {POLICIES}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise DecodeInputError(f"top_p must be None or in (0, 1], got {self.top_p}")
        if self.top_k is not None and (not _is_int(self.top_k) or self.top_k < 1):
            raise DecodeInputError(f"top_k must be None or an integer >= 1, got {self.top_k!r}")
        if self.alg_temp is not None and self.alg_temp < 0:
            raise DecodeInputError(f"alg_temp must be None or >= 0, got {self.alg_temp}")
        dream_only = {"top_p": self.top_p, "top_k": self.top_k, "alg_temp": self.alg_temp}
        used = [k for k, v in dream_only.items() if v is not None]
        if used and self.policy not in DREAM_POLICIES:
            raise DecodeInputError(
                f"{', '.join(used)} apply to the Dream policies {DREAM_POLICIES} only "
                f"(policy {self.policy!r})"
            )
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
        """Which commit-count rule the policy uses: llada | dream | dream_origin | threshold | topk."""
        return {
            "dream": "dream",
            "dream_origin": "dream_origin",
            "threshold": "threshold",
            "topk": "topk",
        }.get(self.policy, "llada")

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
