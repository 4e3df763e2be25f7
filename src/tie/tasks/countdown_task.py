"""Countdown: `predibase/countdown` (test) or SPG/d1's 3-number `cd3` file, graded by `verify`.

The instruction follows SPG's Countdown prompt in substance (numbers once each, + - * /, only the
expression, no `=`), with the paper's `Answer:` suffix instead of SPG's XML block
(research/benchmarks.md 2.4). The extractor accepts a bare expression, `\\boxed{...}` (also
unclosed), `<answer>...</answer>` and display math (`\\[ 48 + 29 + 16 \\]`, one line or three).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tie.tasks.base import CanvasBudget
from tie.tasks.benchmark import BenchmarkTask, RowError, answer_region
from tie.tasks.countdown import MAX_EXPRESSION_CHARS, verify
from tie.tasks.grading import normalise_boxes
from tie.tasks.loading import DataSource

INSTRUCTION = (
    "Using only the given numbers, build an arithmetic expression that equals the target. "
    "You may use +, -, * and /, and each number must be used exactly once. Think step by step, "
    'then give only the final expression on its own line after "Answer:", without an equals '
    "sign or the target, e.g. Answer: a + b * c"
)
SOURCES = {
    "predibase": DataSource(
        hub_id="predibase/countdown",
        hub_config=None,
        split="test",
        local_names=("test.parquet", "test.jsonl"),
        how_to_get="Download predibase/countdown test.parquet on a machine with hub access.",
    ),
    "cd3": DataSource(
        hub_id="(no hub copy) SPG cd3",
        hub_config=None,
        split="test",
        local_names=("countdown_cd3_test.jsonl", "cd3_test.jsonl"),
        how_to_get="facebookresearch/SPG ships dataset/countdown_cd3_test.jsonl (256 rows).",
    ),
}
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S)
_DIGIT = re.compile(r"\d")  # any decimal digit, full-width ones included


def last_boxed(text: str) -> str | None:
    """Content of the last brace-matched `\\boxed{...}`, None if there is none or it is unclosed."""
    start = text.rfind("\\boxed{")
    if start == -1:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for i in range(begin - 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[begin:i]
    return None


def extract_expression(region_text: str | None) -> str | None:
    """The expression from the answer text (after the suffix).

    Inside `<answer>...</answer>` when present; the content of the last `\\boxed{...}` (of an
    unclosed last box, the text after it up to a `<` or `>`: `\\boxed{48 + 29 + 16` at the end
    of a truncated answer, or `\\boxed{48 + 29 + 16>` with `>` typed for `}`, is the answer);
    then the first line with a digit, so a line of markup only (`\\[`, `$$`, `<>`) or of words
    only is skipped. Display-math delimiters left on that line
    are dropped by `countdown.normalise_expression`.
    """
    if not region_text:
        return None
    text = normalise_boxes(region_text[: 20 * MAX_EXPRESSION_CHARS])
    tag = _ANSWER_TAG.search(text)
    if tag:
        text = tag.group(1)
    boxed = last_boxed(text)
    if boxed is not None:
        text = boxed
    elif "\\boxed{" in text:  # unclosed: up to a tag's `<` or a `>` typed for the `}`
        text = re.split(r"[<>]", text[text.rfind("\\boxed{") + len("\\boxed{") :])[0]
    lines = [ln.strip() for ln in text.splitlines() if _DIGIT.search(ln)]
    return lines[0] if lines else None


def _int_list(value: Any) -> list[int]:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(",")
        except json.JSONDecodeError as err:
            raise RowError(f"numbers {value!r} are not a list") from err
    if hasattr(value, "tolist") and not isinstance(value, list):
        value = value.tolist()
    if not isinstance(value, list | tuple) or not value:
        raise RowError(f"numbers must be a non-empty list, got {value!r}")
    try:
        return [_int(v) for v in value]
    except (TypeError, ValueError) as err:
        raise RowError(f"numbers must be integers, got {value!r}") from err


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(value)
    return int(str(value).strip())


class CountdownTask(BenchmarkTask):
    name = "countdown"
    default_budget = CanvasBudget(answer_len=32, gen_length=256)  # paper: 256 [ours: answer 32]

    def __init__(self, *args: Any, variant: str = "predibase", **kwargs: Any) -> None:
        if variant not in SOURCES:
            raise ValueError(f"variant must be one of {sorted(SOURCES)}, got {variant!r}")
        self.variant = variant
        self.source = SOURCES[variant]
        super().__init__(*args, **kwargs)

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        if "input" in raw and "output" in raw:  # SPG cd3: {"input": "30,100,93", "output": "23"}
            nums_raw, target_raw = raw["input"], raw["output"]
        elif "nums" in raw and "target" in raw:
            nums_raw, target_raw = raw["nums"], raw["target"]
        else:
            raise RowError("expected fields 'nums' and 'target' (or cd3 'input' and 'output')")
        nums = _int_list(nums_raw)
        try:
            target = _int(target_raw)
        except (TypeError, ValueError) as err:
            raise RowError(f"field 'target' must be an integer, got {target_raw!r}") from err
        return {
            "id": f"{self.name}-{self.variant}/{index}",
            "gold": str(target),
            "category": f"countdown_{len(nums)}",
            "nums": nums,
            "target": target,
        }

    def build_prompt(self, row: dict[str, Any]) -> str:
        return f"{INSTRUCTION}\n\nNumbers: {list(row['nums'])}\nTarget: {row['target']}"

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        region = answer_region(answer_text, self.answer_suffix)
        return extract_expression(region.split(self.answer_suffix, 1)[1])

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        return verify(extracted, list(row["nums"]), int(row["target"]))
