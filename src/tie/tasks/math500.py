"""MATH500 (`HuggingFaceH4/MATH-500`, test) with the simple-evals math template.

math-verify stands in for simple-evals' LLM judge (research/benchmarks.md 10.5); it runs in a
worker process with a hard time limit (`math_equiv`). Known divergence: math-verify accepts
non-trivial equalities such as `3245/5` = `649` that the judge would reject.
"""

from __future__ import annotations

import re
from typing import Any

from tie.tasks.base import CanvasBudget
from tie.tasks.benchmark import BenchmarkTask, RowError, answer_region, field, text_field
from tie.tasks.grading import boxed_contents, normalise_boxes, unclosed_last_box
from tie.tasks.gsm8k import MATH_QUERY_TEMPLATE
from tie.tasks.loading import DataSource
from tie.tasks.math_equiv import MAX_ANSWER_CHARS, default_verifier, string_equivalent

# simple-evals ANSWER_PATTERN; `\s*` may cross a newline, so `Answer:\n42` gives 42.
_ANSWER = re.compile(r"(?i)Answer\s*:\s*([^\n]+)")
_WRAPPERS = (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_WORD = re.compile(r"[0-9A-Za-z]")  # a line without one is markup only
_CLOSER = re.compile(r"\s*(?:\\\)|\\\]|\$)?[\s.]*$")  # `\boxed{8\)` ends its math, not the box


def strip_boxed(text: str) -> str:
    """The content of one outer `\\boxed{...}` (brace-matched), else the text unchanged."""
    start = text.find("\\boxed{")
    if start == -1:
        return text
    depth, begin = 0, start + len("\\boxed{")
    for i in range(begin - 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[begin:i]
    return text


def extract_math_answer(region: str) -> str | None:
    """The answer after the first `Answer:` of the region, unwrapped; None if absent or too long.

    When the text from that `Answer:` on holds a `\\boxed{...}`, the content of the last one (of
    a last box never closed, the rest of its line); models trained on boxed answers box them after
    `Answer:` too, often after a `\\[` line or more reasoning. Otherwise the first line with a
    letter or digit, so a markup-only line such as `\\[` or `<>` is skipped. Boxes are read as
    `grading.normalise_boxes` spells them: `boxed{255}` (backslash lost) and `\\boxed{}32` (empty
    box, then the answer) give the answer.
    """
    text = region[: 20 * MAX_ANSWER_CHARS]
    match = _ANSWER.search(text)
    if match is None:
        return None
    tail = normalise_boxes(text[match.start(1) :])
    boxed = [b.strip() for b in boxed_contents(tail) if b.strip()]
    unclosed = _CLOSER.sub("", unclosed_last_box(tail) or "").strip()
    if unclosed:  # the last box, never closed (truncated output): its line is the answer
        answer = unclosed
    elif boxed:
        answer = boxed[-1]
    else:
        lines = [ln for ln in tail.splitlines() if _WORD.search(ln)]
        answer = lines[0].strip() if lines else ""
    for _ in range(2):  # `$\boxed{x}$.` needs both layers removed
        answer = answer.rstrip(".").strip()
        for left, right in _WRAPPERS:
            if answer.startswith(left) and answer.endswith(right) and len(answer) > len(left):
                answer = answer[len(left) : len(answer) - len(right)].strip()
        answer = strip_boxed(answer).strip()
        if answer.startswith("\\boxed{"):  # never closed (truncated output): keep the content
            answer = answer[len("\\boxed{") :].strip()
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return None
    return answer


class Math500Task(BenchmarkTask):
    name = "math500"
    source = DataSource(
        hub_id="HuggingFaceH4/MATH-500",
        hub_config=None,
        split="test",
        local_names=("test.jsonl", "test.parquet", "math_500_test.csv"),
        how_to_get="Export HuggingFaceH4/MATH-500 test.jsonl on a machine with hub access.",
    )
    default_budget = CanvasBudget(answer_len=32, gen_length=512)  # paper: 512 [ours: answer 32]

    def __init__(self, *args: Any, timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        if "Question" in raw:  # simple-evals math_500_test.csv
            problem, answer = text_field(raw, "Question"), text_field(raw, "Answer")
            subject, level, row_id = "unknown", 0, f"{self.name}/{index}"
        else:
            problem, answer = text_field(raw, "problem"), text_field(raw, "answer")
            subject = text_field(raw, "subject")
            level = field(raw, "level", (int, str))
            if not str(level).isdigit():
                raise RowError(f"field 'level' must be an integer, got {level!r}")
            level = int(level)
            row_id = text_field(raw, "unique_id")
        return {
            "id": row_id,
            "gold": answer.strip(),
            "category": subject,
            "level": level,
            "question": problem,
        }

    def build_prompt(self, row: dict[str, Any]) -> str:
        return MATH_QUERY_TEMPLATE.format(question=row["question"])

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        return extract_math_answer(answer_region(answer_text, self.answer_suffix))

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        return default_verifier().compare(extracted, row["gold"], self.timeout_s).equal

    def grade_modes(self, answer_text: str, row: dict[str, Any]) -> dict[str, bool]:
        extracted = self.extract(answer_text, row)
        result = default_verifier().compare(extracted, row["gold"], self.timeout_s)
        return {
            "primary": result.equal,
            "string": string_equivalent(extracted, row["gold"]),
            "timeout": result.status == "timeout",
        }
