"""Multiple-choice benchmarks (MMLU, MMLU*, ARC-Challenge, WinoGrande) in the simple-evals format.

Two graders are kept side by side (research/benchmarks.md 2.1): `fidelity` reproduces
simple-evals (normalise, then the FIRST case-insensitive `Answer: [A-D]` match, so
`Answer: Definitely C` reads as D and `answer: b` as a wrong lowercase b); `robust` is our
primary: same normalisation, case-sensitive letter with a word boundary, optional `(`/`$`/`**`,
LAST match in the answer region. Runs log both.
"""

from __future__ import annotations

import re
from typing import Any

from tie.tasks.base import CanvasBudget
from tie.tasks.benchmark import (
    BenchmarkTask,
    RowError,
    answer_region,
    field,
    str_list_field,
    text_field,
)
from tie.tasks.loading import DataSource

LETTERS = "ABCDE"

# simple-evals common.QUERY_TEMPLATE_MULTICHOICE (MIT), with the letter set made a parameter so
# that ARC items with 3 or 5 options and WinoGrande (2) can use it; for four options it is exact.
QUERY_TEMPLATE_MULTICHOICE = (
    "Answer the following multiple choice question. The last line of your response should be of "
    "the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{options}"
)

# simple-evals common.normalize_response: the replacements, in the same order.
_NORMALISE = (
    "**",
    "$\\boxed{",
    "}$",
    "\\$",
    "$\\text{",
    "$",
    "\\mathrm{",
    "\\{",
    "\\text",
    "\\(",
    "\\mathbf{",
    "{",
    "\\boxed",
)
MAX_REGION_CHARS = 20_000

_ROBUST = re.compile(r"Answer\s*:\s*\**\(?\$?\s*([A-E])\b")

# The 35 MMLU subjects on which both LLaDA and Dream exceed 60% (TIE_SPEC section 5).
MMLU_STAR_SUBJECTS = frozenset(
    [
        "astronomy",
        "business_ethics",
        "clinical_knowledge",
        "college_biology",
        "college_medicine",
        "computer_security",
        "conceptual_physics",
        "elementary_mathematics",
        "high_school_biology",
        "high_school_computer_science",
        "high_school_european_history",
        "high_school_geography",
        "high_school_government_and_politics",
        "high_school_macroeconomics",
        "high_school_microeconomics",
        "high_school_psychology",
        "high_school_us_history",
        "high_school_world_history",
        "human_aging",
        "human_sexuality",
        "international_law",
        "jurisprudence",
        "logical_fallacies",
        "management",
        "marketing",
        "medical_genetics",
        "miscellaneous",
        "nutrition",
        "philosophy",
        "prehistory",
        "public_relations",
        "security_studies",
        "sociology",
        "us_foreign_policy",
        "world_religions",
    ]
)


def normalize_response(text: str) -> str:
    """simple-evals' markdown/LaTeX stripping before the answer regex."""
    for token in _NORMALISE:
        text = text.replace(token, "")
    return text


def extract_fidelity(region: str, letters: str = "ABCD") -> str | None:
    """The simple-evals rule: first case-insensitive match (may return a lowercase letter)."""
    pattern = re.compile(rf"(?i)Answer\s*:[ \t]*([{letters}])")
    match = pattern.search(normalize_response(region[:MAX_REGION_CHARS]))
    return match.group(1) if match else None


def extract_robust(region: str, letters: str = "ABCD") -> str | None:
    """Our rule: last case-sensitive letter with a word boundary, restricted to `letters`."""
    matches = [m.group(1) for m in _ROBUST.finditer(normalize_response(region[:MAX_REGION_CHARS]))]
    matches = [m for m in matches if m in letters]
    return matches[-1] if matches else None


def render_prompt(question: str, choices: list[str]) -> str:
    """The simple-evals multiple-choice prompt for any number (2..5) of options."""
    letters = LETTERS[: len(choices)]
    options = "\n".join(f"{letter}) {text}" for letter, text in zip(letters, choices))
    return QUERY_TEMPLATE_MULTICHOICE.format(
        letters=letters, question=question, options=options
    ).strip()


class MultipleChoiceTask(BenchmarkTask):
    """Rows carry `question`, `choices` (list[str]) and `gold` (a letter)."""

    answer_suffix = "Answer:"
    default_budget = CanvasBudget(answer_len=16, gen_length=128)  # paper: 128 [ours: answer 16]

    def build_prompt(self, row: dict[str, Any]) -> str:
        return render_prompt(row["question"], list(row["choices"]))

    def letters(self, row: dict[str, Any]) -> str:
        return LETTERS[: len(row["choices"])]

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        return extract_robust(answer_region(answer_text, self.answer_suffix), self.letters(row))

    def extract_modes(self, answer_text: str, row: dict[str, Any]) -> dict[str, str | None]:
        region = answer_region(answer_text, self.answer_suffix)
        return {
            "robust": extract_robust(region, self.letters(row)),
            "fidelity": extract_fidelity(region, self.letters(row)),
        }

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        return extracted is not None and extracted == row["gold"]

    def grade_modes(self, answer_text: str, row: dict[str, Any]) -> dict[str, bool]:
        modes = {k: self.grade(v, row) for k, v in self.extract_modes(answer_text, row).items()}
        return {"primary": modes["robust"], **modes}


class MMLUTask(MultipleChoiceTask):
    """`cais/mmlu` (all, test); also reads simple-evals' `mmlu.csv` schema."""

    name = "mmlu"
    source = DataSource(
        hub_id="cais/mmlu",
        hub_config="all",
        split="test",
        local_names=("test.parquet", "test.jsonl", "mmlu.csv", "test.csv"),
        how_to_get="Export cais/mmlu 'all' test to parquet/jsonl on a machine with hub access, "
        "or download simple-evals' mmlu.csv.",
    )

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        if "Question" in raw:  # simple-evals CSV: Question, A..D, Answer (letter), Subject
            question = text_field(raw, "Question")
            choices = [text_field(raw, k, allow_empty=True) for k in "ABCD"]
            gold = text_field(raw, "Answer").strip()
            subject = text_field(raw, "Subject")
            if gold not in "ABCD" or len(gold) != 1:
                raise RowError(f"field 'Answer' must be one of A-D, got {gold!r}")
        else:
            question = text_field(raw, "question")
            choices = str_list_field(raw, "choices")
            subject = text_field(raw, "subject")
            answer = field(raw, "answer", (int, str))
            if isinstance(answer, str):
                answer = {"0": 0, "1": 1, "2": 2, "3": 3, "A": 0, "B": 1, "C": 2, "D": 3}.get(
                    answer.strip(), -1
                )
            if len(choices) != 4:
                raise RowError(f"field 'choices' must hold 4 options, got {len(choices)}")
            if not 0 <= answer < 4:
                raise RowError(f"field 'answer' must be 0-3 (or A-D), got {raw['answer']!r}")
            gold = "ABCD"[answer]
        return {
            "id": f"{self.name}/{subject}/{index}",
            "gold": gold,
            "category": subject,
            "question": question,
            "choices": choices,
        }


class MMLUStarTask(MMLUTask):
    """MMLU restricted to the paper's 35 high-performance subjects."""

    name = "mmlu_star"

    def keep(self, row: dict[str, Any]) -> bool:
        return row["category"] in MMLU_STAR_SUBJECTS


class ARCChallengeTask(MultipleChoiceTask):
    """`allenai/ai2_arc` ARC-Challenge test; 3-5 options, labels A-E or 1-5, gold by position."""

    name = "arc_c"
    source = DataSource(
        hub_id="allenai/ai2_arc",
        hub_config="ARC-Challenge",
        split="test",
        local_names=("test.parquet", "test.jsonl", "ARC-Challenge-Test.jsonl"),
        how_to_get="Export allenai/ai2_arc ARC-Challenge test (or AI2's ARC-Challenge-Test.jsonl).",
    )

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        question = raw.get("question")
        choices_field = field(raw, "choices", dict)
        if isinstance(question, dict):  # AI2's original jsonl nests {stem, choices}
            choices_field, question = question.get("choices", choices_field), question.get("stem")
        if not isinstance(question, str) or not question.strip():
            raise RowError("field 'question' is missing or empty")
        texts = str_list_field(choices_field, "text")
        labels = str_list_field(choices_field, "label")
        if len(texts) != len(labels) or not 2 <= len(texts) <= 5:
            raise RowError(f"field 'choices' must hold 2-5 aligned texts/labels, got {len(texts)}")
        key = text_field(raw, "answerKey").strip()
        if key not in labels:
            raise RowError(f"field 'answerKey' {key!r} is not one of the labels {labels}")
        row_id = raw.get("id") if isinstance(raw.get("id"), str) else f"{self.name}/{index}"
        return {
            "id": row_id,
            "gold": LETTERS[labels.index(key)],
            "category": "arc_challenge",
            "question": question,
            "choices": texts,
        }


class WinoGrandeTask(MultipleChoiceTask):
    """`allenai/winogrande` winogrande_xl validation; the blank `_` becomes a 2-option question."""

    name = "winogrande"
    lead_in = "Which option correctly fills the blank (_) in the following sentence?"
    source = DataSource(
        hub_id="allenai/winogrande",
        hub_config="winogrande_xl",
        split="validation",
        local_names=("validation.parquet", "validation.jsonl", "dev.jsonl"),
        how_to_get="Export allenai/winogrande winogrande_xl validation (or AI2's dev.jsonl).",
    )

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        sentence = text_field(raw, "sentence")
        if "_" not in sentence:
            raise RowError("field 'sentence' has no blank '_'")
        options = [text_field(raw, "option1"), text_field(raw, "option2")]
        answer = str(field(raw, "answer", (str, int))).strip()
        if answer == "":
            raise RowError("field 'answer' is empty (the test split is unlabelled: use validation)")
        if answer not in ("1", "2"):
            raise RowError(f"field 'answer' must be '1' or '2', got {answer!r}")
        row_id = raw.get("qID") if isinstance(raw.get("qID"), str) else f"{self.name}/{index}"
        return {
            "id": row_id,
            "gold": "AB"[int(answer) - 1],
            "category": "winogrande",
            "question": f"{self.lead_in}\n{sentence}",
            "choices": options,
        }
