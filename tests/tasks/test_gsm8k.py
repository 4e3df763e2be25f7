"""GSM8K loader, prompt, extraction (answer region only) and graders."""

import json

import pytest

from tie.tasks import TaskDataError, get_task
from tie.tasks.gsm8k import extract_mgsm


@pytest.fixture
def gsm(fixtures):
    task = get_task("gsm8k", data_dir=fixtures / "gsm8k")
    return task, task.load()


def test_loader_golds(gsm):
    _, ds = gsm
    assert ds["gold"] == ["180", "1234", "-3"]
    assert ds["category"] == ["gsm8k"] * 3


def test_prompt_is_simple_evals_math_template(gsm):
    task, ds = gsm
    prompt = task.build_prompt(ds[0])
    assert prompt.startswith("Solve the following math problem step by step. The last line")
    assert "\n\nA baker makes 12 loaves" in prompt
    assert prompt.endswith('after "Answer:", and you do not need to use a \\boxed command.')
    assert task.answer_suffix == "Answer:"
    assert task.budget.gen_length == 256  # the paper's generation length (R = G - S - A)


@pytest.mark.parametrize(
    ("row", "answer", "extracted", "ok"),
    [
        (1, " $1,234", "1234", True),
        (0, " 180.00", "180", True),
        (2, " -3", "-3", True),
        (0, " 180 dollars (12*10*1.5)", "180", True),
        (0, "\n180", "180", True),
        (0, " The answer is 180.", "180", True),
        (2, " 3", "3", False),
        (0, " unknown", None, False),
        (0, "", None, False),
    ],
)
def test_score(gsm, row, answer, extracted, ok):
    task, ds = gsm
    assert task.score(answer, ds[row]) == (extracted, ok)


def test_grade_modes_log_mgsm_rule(gsm):
    task, ds = gsm
    # MGSM takes the last number and drops the minus sign: the negative gold is unsolvable.
    assert task.grade_modes(" -3", ds[2]) == {"primary": True, "mgsm": False}
    assert task.grade_modes(" 180 dollars (12*10*1.5)", ds[0]) == {"primary": True, "mgsm": False}
    assert extract_mgsm("Answer: 18.00") == "18"
    assert extract_mgsm("no prefix 5") is None


def test_row_without_final_line_is_malformed(tmp_path):
    (tmp_path / "test.jsonl").write_text(json.dumps({"question": "q", "answer": "42"}) + "\n")
    with pytest.raises(TaskDataError, match="row 1: .*'####"):
        get_task("gsm8k", data_dir=tmp_path).load()


def test_missing_question_field(tmp_path):
    (tmp_path / "test.jsonl").write_text(json.dumps({"answer": "#### 4"}) + "\n")
    with pytest.raises(TaskDataError, match="row 1: missing field 'question'"):
        get_task("gsm8k", data_dir=tmp_path).load()


def test_lines_and_rows_both_count_from_one(tmp_path):
    """The second line of a file is `line 2` in a JSON error and `row 2` in a field error."""
    good = json.dumps({"question": "q", "answer": "#### 4"})
    (tmp_path / "test.jsonl").write_text(good + "\n{not json\n")
    with pytest.raises(TaskDataError, match="line 2 is not valid JSON"):
        get_task("gsm8k", data_dir=tmp_path).load()
    (tmp_path / "test.jsonl").write_text(good + "\n" + json.dumps({"answer": "#### 4"}) + "\n")
    with pytest.raises(TaskDataError, match="row 2: missing field 'question'"):
        get_task("gsm8k", data_dir=tmp_path).load()
