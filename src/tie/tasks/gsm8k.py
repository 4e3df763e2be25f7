"""GSM8K (`openai/gsm8k` main, test) with the simple-evals math template and exact numeric grading.

Decision (research/benchmarks.md 10.2): the simple-evals math template is used for GSM8K too.
The primary grader reads the last numeric `\\boxed{}` of the answer region, else its first number
(`grading.extract_final_number`); the MGSM rule (last number, minus sign dropped) is logged
beside it as `mgsm`.
"""

from __future__ import annotations

import re
from typing import Any

from tie.tasks.base import CanvasBudget
from tie.tasks.benchmark import BenchmarkTask, RowError, answer_region, text_field
from tie.tasks.grading import extract_final_number, format_number, numeric_match, parse_gold
from tie.tasks.loading import DataSource

# simple-evals math_eval.QUERY_TEMPLATE (MIT).
MATH_QUERY_TEMPLATE = (
    "Solve the following math problem step by step. The last line of your response should be of "
    "the form Answer: $ANSWER (without quotes) where $ANSWER is the answer to the problem.\n\n"
    "{question}\n\n"
    'Remember to put your answer on its own line after "Answer:", and you do not need to use a '
    "\\boxed command."
)

_MGSM_NUMBER = re.compile(r"\d+\.?\d*")


def extract_mgsm(region: str) -> str | None:
    """simple-evals MGSM `parse_answer`: text after the last `Answer`, commas out, last number."""
    if "Answer" not in region:
        return None
    tail = region.split("Answer")[-1].strip().replace(",", "")
    numbers = _MGSM_NUMBER.findall(tail[:2000])
    if not numbers:
        return None
    value = numbers[-1].rstrip("0").rstrip(".") if "." in numbers[-1] else numbers[-1]
    return value


class GSM8KTask(BenchmarkTask):
    name = "gsm8k"
    source = DataSource(
        hub_id="openai/gsm8k",
        hub_config="main",
        split="test",
        local_names=("test.jsonl", "test.parquet"),
        how_to_get="openai/grade-school-math has it as grade_school_math/data/test.jsonl.",
    )
    default_budget = CanvasBudget(answer_len=32, gen_length=256)  # paper: 256 [ours: answer 32]

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        question = text_field(raw, "question")
        answer = text_field(raw, "answer")
        if "####" not in answer:
            raise RowError("field 'answer' has no '#### <number>' final line")
        try:
            gold = parse_gold(answer)
        except ValueError as err:
            raise RowError(f"field 'answer': {err}") from err
        return {
            "id": f"{self.name}/{index}",
            "gold": format_number(gold),
            "category": "gsm8k",
            "question": question,
        }

    def build_prompt(self, row: dict[str, Any]) -> str:
        return MATH_QUERY_TEMPLATE.format(question=row["question"])

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        region = answer_region(answer_text, self.answer_suffix)
        return extract_final_number(region.split(self.answer_suffix, 1)[1])

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        return numeric_match(extracted, row["gold"])

    def grade_modes(self, answer_text: str, row: dict[str, Any]) -> dict[str, bool]:
        _, primary = self.score(answer_text, row)
        mgsm = extract_mgsm(answer_region(answer_text, self.answer_suffix))
        return {"primary": primary, "mgsm": mgsm is not None and mgsm == row["gold"]}
