"""The task interface shared by the synthetic testbed tasks and the real benchmarks.

A task turns rows into user messages, names the answer suffix that separates the reasoning
region from the answer region of the canvas, extracts an answer from decoded answer text and
grades it. Rows are `datasets.Dataset` rows with at least `id`, `prompt` inputs and `gold`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where rows are built: the config check stays light
    import datasets


class TaskDataError(ValueError):
    """A data file is missing or a row is malformed; the message names the file or row."""


@dataclass(frozen=True)
class CanvasBudget:
    """Token budgets of the canvas regions (per model's tokens), task defaults from the paper.

    Two forms. The paper's (the real benchmarks): a generation length `gen_length` (128 / 256 /
    512, a multiple of the block) that holds reasoning, suffix and answer, so the reasoning region
    is whatever the tokenizer's suffix and the answer leave: R = gen_length - S - answer_len, per
    tokenizer. The testbed's: a fixed `reasoning_len` (the zoo was trained on it); under strict
    rounding its generation region R + S + A grows its reasoning to the next block multiple.
    """

    reasoning_len: int | None = None
    answer_len: int = 0
    gen_length: int | None = None

    def __post_init__(self) -> None:
        if (self.reasoning_len is None) == (self.gen_length is None):
            raise ValueError("a canvas budget has either reasoning_len or gen_length, not both")
        for label in ("reasoning_len", "answer_len", "gen_length"):
            value = getattr(self, label)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValueError(f"{label} must be an integer >= 0, got {value!r}")

    def regions(
        self, suffix_len: int, block_length: int = 1, strict: bool = False
    ) -> tuple[int, int]:
        """(reasoning_len, answer_len) for a tokenizer whose answer suffix has `suffix_len` tokens.

        With `gen_length` the generation region is exactly gen_length (its divisibility by the
        block is the decoder's check); with a fixed reasoning length and `strict` rounding the
        reasoning region grows so that R + S + A is a multiple of `block_length`."""
        if self.gen_length is not None:
            reasoning = self.gen_length - suffix_len - self.answer_len
            if reasoning < 1:
                raise ValueError(
                    f"generation length {self.gen_length} has no room for reasoning: the answer "
                    f"suffix takes {suffix_len} tokens and the answer {self.answer_len}"
                )
            return reasoning, self.answer_len
        reasoning = int(self.reasoning_len)  # type: ignore[arg-type]
        if strict:
            reasoning += -(reasoning + suffix_len + self.answer_len) % block_length
        return reasoning, self.answer_len


class Task(ABC):
    name: str
    answer_suffix: str  # literal text placed between reasoning and answer, e.g. "Answer:"
    budget: CanvasBudget

    @abstractmethod
    def load(self) -> datasets.Dataset:
        """Rows with columns `id` (str, unique), `gold` (str), `category` (str) and task fields."""

    @abstractmethod
    def build_prompt(self, row: dict[str, Any]) -> str:
        """The user message (before any chat template)."""

    @abstractmethod
    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        """The answer from the decoded answer region (text after the suffix), None if none."""

    @abstractmethod
    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        """True when the extracted answer is correct for the row."""

    def score(self, answer_text: str, row: dict[str, Any]) -> tuple[str | None, bool]:
        extracted = self.extract(answer_text, row)
        return extracted, self.grade(extracted, row)
