"""Configuration and result types of the ensemble engine.

Every decision TIE_SPEC marks [ours] is an option here with the spec's default, so ablations are
config changes and the defaults reproduce the paper's method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCORINGS = ("tcc", "top1", "entropy", "margin")
FINAL_SELECTIONS = ("lowest_tcc", "best_model", "most_selected")
# own_top1: the trajectory's mean answer top-1 (TIE_SPEC); tracked_top1: its mean top-1 over the
# positions the change count reads (A(t), plus the current block under answer_and_block)
TIE_BREAKS = ("own_top1", "tracked_top1", "incumbent", "model_order", "random")
ON_COMPLETE = ("finish_independently", "relay_then_finish")
SELECTION_TCC = ("whole_decode", "last_round")
BRIDGE_GAPS = ("drop", "offsets", "chars")  # tie.ensemble.bridge: tokens after a gap
# positions the token change count reads: A(t) (TIE_SPEC) | A(t) plus the masked reasoning
# positions of the block being written
CHANGE_POSITIONS = ("answer", "answer_and_block")

# Spellings used in early configs, mapped to the canonical values above.
_ALIASES = {
    "tcc_top1": "lowest_tcc",
    "order": "model_order",
    "independent": "finish_independently",
    "whole": "whole_decode",
}


@dataclass
class GatingOptions:
    """Keep a much weaker constituent from leading (beyond the paper; off by default).

    `accuracy_gap`: with `accuracies` (held-out accuracy per model), a model more than this many
    points (0-1 scale) below the best never leads. `min_win_rate`: after `min_rounds` rounds over
    the batch, a model that won fewer than this share of its rounds stops leading.
    """

    enabled: bool = False
    accuracy_gap: float | None = None
    accuracies: dict[str, float] | None = None
    min_win_rate: float | None = None
    min_rounds: int = 8


@dataclass
class EnsembleOptions:
    """How a method decodes, scores, relays and selects. Defaults are the paper's."""

    interval: int = 16
    scoring: str = "tcc"  # used by `tie` without a suffix; `tie:<s>` overrides
    normalise: bool = True
    cross_model: bool = True
    final_selection: str = "lowest_tcc"
    best_model: str | None = None
    tie_break: str = "own_top1"
    tie_break_seed: int = 0
    on_complete: str = "finish_independently"
    selection_tcc: str = "whole_decode"
    exclude_eos: bool | None = None  # None: keep each DecodeConfig's exclude_eos_from_answer
    answer_cap: int | None = None  # None: keep each DecodeConfig's eos_answer_cap
    gating: GatingOptions | dict[str, Any] | None = None
    calibration: dict[str, float] | None = None  # per-model temperature for logit metrics
    trace_steps: bool = True
    bridge_gaps: str = "drop"  # cross-tokenizer relay, tokens after a gap: drop | offsets | chars
    # The n steps of a round show the answer's reaction to only n - 1 of the round's commits; True
    # adds one forward per member at the end of each relayed round of `tie:tcc` (no commit, counted
    # in NFE) so the token change count also sees the reaction to the last one [ours].
    count_last_commit: bool = False
    # What the token change count reads (relay score and final selection alike): the answer
    # positions A(t) (the paper) or A(t) plus the masked reasoning positions of the current block,
    # so a model that wavers over what it is writing now also scores as less reliable [ours].
    change_positions: str = "answer"
    # Token change count relay scores within this distance of the round's best count as tied, so
    # the tie rule decides among them: a round's count is a handful of flips, and a one-flip lead
    # can be noise. In count units, so the logit scorings keep exact ties; relay only, final
    # selection keeps exact ties [ours]. 0: exact ties (the paper).
    tie_tolerance: float = 0.0

    def __post_init__(self) -> None:
        for name in ("final_selection", "tie_break", "on_complete", "selection_tcc"):
            value = getattr(self, name)
            setattr(self, name, _ALIASES.get(value, value))
        if isinstance(self.gating, dict):
            self.gating = GatingOptions(**self.gating)
        if self.gating is None:
            self.gating = GatingOptions()
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the bad option (called before any compute)."""
        checks = [
            ("scoring", self.scoring, SCORINGS),
            ("final_selection", self.final_selection, FINAL_SELECTIONS),
            ("tie_break", self.tie_break, TIE_BREAKS),
            ("on_complete", self.on_complete, ON_COMPLETE),
            ("selection_tcc", self.selection_tcc, SELECTION_TCC),
            ("bridge_gaps", self.bridge_gaps, BRIDGE_GAPS),
            ("change_positions", self.change_positions, CHANGE_POSITIONS),
        ]
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError(f"EnsembleOptions.{name}={value!r}; expected one of {allowed}")
        if not isinstance(self.count_last_commit, bool):
            raise ValueError(
                f"EnsembleOptions.count_last_commit must be true or false, got "
                f"{self.count_last_commit!r}"
            )
        if isinstance(self.tie_tolerance, bool) or not (
            isinstance(self.tie_tolerance, (int, float)) and self.tie_tolerance >= 0
        ):
            raise ValueError(
                f"EnsembleOptions.tie_tolerance must be a number >= 0, got {self.tie_tolerance!r}"
            )
        if not isinstance(self.interval, int) or self.interval < 1:
            raise ValueError(f"EnsembleOptions.interval must be an int >= 1, got {self.interval!r}")
        if self.final_selection == "best_model" and not self.best_model:
            raise ValueError("final_selection='best_model' needs EnsembleOptions.best_model")
        if self.answer_cap is not None and self.answer_cap < 1:
            raise ValueError(f"EnsembleOptions.answer_cap must be >= 1, got {self.answer_cap}")
        for model, temp in (self.calibration or {}).items():
            if not temp > 0:
                raise ValueError(f"calibration temperature for {model!r} must be > 0, got {temp}")


@dataclass
class Constituent:
    """One ensemble member: a backend and how it decodes."""

    name: str
    backend: Any  # tie.models.MDLMBackend
    decode_config: Any  # tie.decoding.DecodeConfig


@dataclass
class Candidate:
    """One model's final response for one problem, with the signals final selection uses."""

    model: str
    text: str  # answer-region text
    reasoning: str
    change_count: float  # whole-decode (or last-round, per options) change count
    mean_top1: float  # mean over steps of the mean answer top-1 prob over A_m(t)
    rounds_led: int = 0
    extracted: str | None = None
    correct: bool | None = None


@dataclass
class MethodOutput:
    """The result of one method on one problem."""

    method: str
    prediction: str
    reasoning: str
    selected_model: str
    nfe: int
    wall_s: float
    candidates: list[Candidate] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
