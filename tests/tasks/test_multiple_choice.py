"""MMLU, MMLU*, ARC-C and WinoGrande: loaders, prompts, both extractors and graders."""

import json

import pytest

from tie.tasks import TaskDataError, get_task
from tie.tasks.multiple_choice import (
    MMLU_STAR_SUBJECTS,
    extract_fidelity,
    extract_robust,
    normalize_response,
)

GOLDEN_MMLU_PROMPT = (
    "Answer the following multiple choice question. The last line of your response should be of "
    "the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. "
    "Think step by step before answering.\n"
    "\n"
    "What is the closest star to Earth?\n"
    "\n"
    "A) The Sun\n"
    "B) Proxima Centauri\n"
    "C) Sirius\n"
    "D) Vega"
)


@pytest.fixture
def mmlu(fixtures):
    task = get_task("mmlu", data_dir=fixtures / "mmlu")
    return task, task.load()


def test_mmlu_loader_and_golden_prompt(mmlu):
    task, ds = mmlu
    assert ds["gold"] == ["A", "D", "B"]
    assert ds["category"] == ["astronomy", "elementary_mathematics", "anatomy"]
    assert len(set(ds["id"])) == 3
    assert task.build_prompt(ds[0]) == GOLDEN_MMLU_PROMPT
    assert task.answer_suffix == "Answer:"
    assert task.budget.gen_length == 128  # the paper's generation length (R = G - S - A)


def test_mmlu_simple_evals_csv(fixtures):
    ds = get_task("mmlu", data_files=fixtures / "mmlu" / "mmlu.csv").load()
    assert ds[0]["gold"] == "C" and ds[0]["choices"] == ["0", "4", "2", "6"]
    assert ds[0]["category"] == "abstract_algebra"


def test_mmlu_star_keeps_only_the_35_subjects(fixtures):
    assert len(MMLU_STAR_SUBJECTS) == 35
    ds = get_task("mmlu_star", data_dir=fixtures / "mmlu").load()
    assert ds["category"] == ["astronomy", "elementary_mathematics"]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"answer": 4}, "field 'answer' must be 0-3"),
        ({"choices": ["a", "b"]}, "4 options"),
        ({"question": ""}, "field 'question' is empty"),
        ({"choices": "abcd"}, "list of at least"),
    ],
)
def test_mmlu_malformed_row_names_row_and_field(tmp_path, fixtures, patch, message):
    rows = [json.loads(x) for x in (fixtures / "mmlu" / "test.jsonl").read_text().splitlines()]
    rows[1].update(patch)
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(TaskDataError, match=rf"row 2: .*{message}"):
        get_task("mmlu", data_files=path).load()


def test_arc_gold_by_label_position_and_letter_sets(fixtures):
    task = get_task("arc_c", data_dir=fixtures / "arc_c")
    ds = task.load()
    assert ds["gold"] == ["C", "E", "B"]
    assert ds["id"][0] == "Mercury_7175875"
    five = task.build_prompt(ds[1])
    assert "LETTER is one of ABCDE." in five and five.endswith("E) nitrogen")
    three = task.build_prompt(ds[2])
    assert "LETTER is one of ABC." in three and "D)" not in three
    assert task.score(" E", ds[1]) == ("E", True)
    assert task.extract(" D", ds[2]) is None  # not a letter of a 3-option item


def test_arc_key_not_in_labels(tmp_path):
    row = {
        "id": "x",
        "question": "q",
        "choices": {"text": ["a", "b"], "label": ["A", "B"]},
        "answerKey": "C",
    }
    (tmp_path / "test.jsonl").write_text(json.dumps(row))
    with pytest.raises(TaskDataError, match="row 1: field 'answerKey'"):
        get_task("arc_c", data_dir=tmp_path).load()


def test_winogrande_rows_and_prompt(fixtures):
    task = get_task("winogrande", data_dir=fixtures / "winogrande")
    ds = task.load()
    assert ds["gold"] == ["A", "B"]
    prompt = task.build_prompt(ds[1])
    assert "fills the blank (_)" in prompt and "LETTER is one of AB." in prompt
    assert prompt.endswith("A) trophy\nB) suitcase")


def test_winogrande_test_split_is_rejected(fixtures):
    with pytest.raises(TaskDataError, match="row 1: field 'answer' is empty.*validation"):
        get_task("winogrande", data_files=fixtures / "winogrande" / "test.jsonl").load()


# (answer region text, fidelity, robust): research/benchmarks.md section 9.
EXTRACTION_TABLE = [
    ("Answer: C", "C", "C"),
    ("**Answer:** B", "B", "B"),
    ("Answer: $\\boxed{D}$", "D", "D"),
    ("answer: b", "b", None),
    ("Answer: Definitely C", "D", None),
    ("Answer: (B)", None, "B"),
    ("Answer: A\nWait, re-checking.\nAnswer: C", "A", "C"),
    ("The answer is B", None, None),
    ("", None, None),
    ("Answer: Both", "B", None),
    ("Answer: $B$", "B", "B"),
]


@pytest.mark.parametrize(("text", "fidelity", "robust"), EXTRACTION_TABLE)
def test_extraction_table(text, fidelity, robust):
    assert extract_fidelity(text) == fidelity
    assert extract_robust(text) == robust


def test_normalize_response_matches_simple_evals_rules():
    assert normalize_response("**Answer:** $\\boxed{C}$") == "Answer: C"
    assert normalize_response("\\text{A}") == "A}"


def test_grade_modes_log_both(mmlu):
    task, ds = mmlu
    row = ds[0]  # gold A
    assert task.grade_modes(" A", row) == {"primary": True, "robust": True, "fidelity": True}
    assert task.grade_modes(" a", row) == {"primary": False, "robust": False, "fidelity": False}
    # The suffix is prepended: a bare letter in the region is an answer.
    assert task.score(" (A)", row) == ("A", True)
    row_d = ds[1]  # gold D
    assert task.grade_modes(" Definitely C", row_d) == {
        "primary": False,
        "robust": False,
        "fidelity": True,
    }
    assert task.score("", row) == (None, False)


def test_answer_region_wins_over_reasoning(mmlu):
    # Only the answer region is graded: a stray 'Answer: B' in the reasoning is never passed here.
    task, ds = mmlu
    assert task.extract(" A\n", ds[0]) == "A"
