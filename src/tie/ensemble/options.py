"""Configuration and result types of the ensemble.

Every decision TIE_SPEC marks [ours] is an option here with the spec's default, so ablations are
config changes and the defaults reproduce the paper's method; the testbed's research rules are
one group apart (`ExperimentalOptions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from tie.ensemble import registry as r

ON_COMPLETE = ("finish_independently", "relay_then_finish")
SELECTION_TCC = ("whole_decode", "last_round")
AVG_RULES = ("mean", "product")  # avg:<rule>, tie.ensemble.baselines (read here without torch)


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
class ExperimentalOptions:
    """The testbed's research relay rules: beyond the paper and TIE_SPEC, off by default
    (experiments/testbed/RESULTS.md says where each was decided). Set them under
    `ensemble.options.experimental`."""

    # The n steps of a round show the answer's reaction to only n - 1 of the round's commits; True
    # adds one forward per member at the end of each relayed round of a change-count scoring (no
    # commit, counted in NFE) so the count also sees the reaction to the last one.
    count_last_commit: bool = False
    # What the token change count reads (relay score and final selection alike), a registered
    # rule (tie.ensemble.rules.positions): `answer` (A(t), the paper) or `answer_and_block` (also
    # the masked reasoning positions of the block being written).
    change_positions: str = field(default="answer", metadata={"choices": r.CHANGE_POSITIONS.names})
    # Change-count relay scores within this distance of the round's best count as tied, so the tie
    # rule decides among them (a one-flip lead can be noise). Count units: only the change-count
    # scorings use it; relay only, final selection keeps exact ties. 0: exact ties (the paper).
    tie_tolerance: float = 0.0


@dataclass
class EnsembleOptions:
    """How a method decodes, scores, relays and selects. Defaults are the paper's.

    The first group is the paper's method and the decisions TIE_SPEC left open (each with the
    spec's default); `gating` and `calibration` are documented extensions (beyond the paper, off
    by default); `experimental` holds the testbed's research relay rules. Names of rules
    (scoring, tie_break, final_selection, bridge_gaps, change_positions) are checked against their
    registries (tie.ensemble.registry); rules tagged experimental there (tie_break tracked_top1 /
    incumbent, bridge_gaps chars) are research rules too. A(t) itself (EOS exclusion, the cap K)
    is each constituent's `DecodeConfig` (exclude_eos_from_answer, eos_answer_cap).
    """

    # the paper and TIE_SPEC's open decisions
    interval: int = 16
    # used by `tie` without a suffix; `tie:<s>` overrides
    scoring: str = field(default="tcc", metadata={"choices": r.SCORINGS.names})
    normalise: bool = True
    cross_model: bool = True
    final_selection: str = field(
        default="lowest_tcc", metadata={"choices": r.FINAL_SELECTIONS.names}
    )
    best_model: str | None = None
    tie_break: str = field(default="own_top1", metadata={"choices": r.TIE_RULES.names})
    tie_break_seed: int = 0
    on_complete: str = field(default="finish_independently", metadata={"choices": ON_COMPLETE})
    selection_tcc: str = field(default="whole_decode", metadata={"choices": SELECTION_TCC})
    # cross-tokenizer relay, tokens after a gap: drop | offsets | chars
    bridge_gaps: str = field(default="drop", metadata={"choices": r.BRIDGES.names})
    trace_steps: bool = True
    # speed only, results unchanged: cross-model scoring runs one forward per scorer per round
    # over every source's canvases (False: one per (source, scorer) pair, as before)
    batched_scoring: bool = True
    # extensions (beyond the paper, off by default)
    gating: GatingOptions | dict[str, Any] | None = None
    calibration: dict[str, float] | None = None  # per-model temperature for logit metrics
    # the testbed's research relay rules
    experimental: ExperimentalOptions | dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.gating = _group(GatingOptions, self.gating, "gating")
        self.experimental = _group(ExperimentalOptions, self.experimental, "experimental")
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the bad option (called before any compute)."""
        x = self.experimental
        for path, group in (("", self), ("experimental.", x)):
            for name, allowed in field_choices(type(group)).items():
                value = getattr(group, name)
                if value not in allowed:
                    raise ValueError(
                        f"EnsembleOptions.{path}{name}={value!r}; expected one of {allowed}"
                    )
        if not isinstance(self.batched_scoring, bool):
            raise ValueError(
                f"EnsembleOptions.batched_scoring must be true or false, got {self.batched_scoring!r}"
            )
        if not isinstance(x.count_last_commit, bool):
            raise ValueError(
                "EnsembleOptions.experimental.count_last_commit must be true or false, got "
                f"{x.count_last_commit!r}"
            )
        tol = x.tie_tolerance
        if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and tol >= 0):
            raise ValueError(
                f"EnsembleOptions.experimental.tie_tolerance must be a number >= 0, got {tol!r}"
            )
        n = self.interval
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"EnsembleOptions.interval must be an integer >= 1, got {n!r}")
        if self.final_selection == "best_model" and not self.best_model:
            raise ValueError("final_selection='best_model' needs EnsembleOptions.best_model")
        for model, temp in (self.calibration or {}).items():
            if not temp > 0:
                raise ValueError(f"calibration temperature for {model!r} must be > 0, got {temp}")


def field_choices(cls: type) -> dict[str, list[Any]]:
    """{field: valid values} of a dataclass, from its fields' `choices` metadata (a sequence, or
    a registry's `names` read when asked): what `validate` and the run config's schema check."""
    out = {}
    for f in fields(cls):
        choices = f.metadata.get("choices")
        if choices is not None:
            out[f.name] = list(choices() if callable(choices) else choices)
    return out


def _group(cls: type, value: Any, name: str) -> Any:
    """An option group from None (its defaults), a dict (unknown keys named) or itself."""
    if value is None:
        return cls()
    if isinstance(value, dict):
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - valid)
        if unknown:
            raise ValueError(
                f"unknown EnsembleOptions.{name} option(s) {unknown}; valid: {sorted(valid)}"
            )
        return cls(**value)
    return value


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
