"""A minimal task for engine tests with scripted models: fixed budget, exact-match grading."""

from __future__ import annotations

from tie.tasks.base import CanvasBudget


class TinyTask:
    name = "tiny"
    answer_suffix = "Answer:"

    def __init__(self, reasoning: int, answer: int) -> None:
        self.budget = CanvasBudget(reasoning, answer)

    def score(self, text: str, row: dict) -> tuple[str, bool]:
        return text, text == row["gold"]
