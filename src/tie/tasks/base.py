"""The task interface shared by the synthetic testbed tasks and the real benchmarks.

A task turns rows into user messages, names the answer suffix that separates the reasoning
region from the answer region of the canvas, extracts an answer from decoded answer text and
grades it. Rows are `datasets.Dataset` rows with at least `id`, `prompt` inputs and `gold`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import datasets


class TaskDataError(ValueError):
    """A data file is missing or a row is malformed; the message names the file or row."""


@dataclass(frozen=True)
class CanvasBudget:
    """Token budgets of the canvas regions (per model tokens), task defaults from the paper."""

    reasoning_len: int
    answer_len: int


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
