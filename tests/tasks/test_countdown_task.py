"""Countdown task: both data variants, prompt, extraction and grading."""

import json

import pytest

from tie.tasks import TaskDataError, get_task
from tie.tasks.countdown_task import extract_expression


@pytest.fixture
def cd(fixtures):
    task = get_task("countdown", data_dir=fixtures / "countdown")
    return task, task.load()


def test_predibase_rows_are_coerced(cd):
    _, ds = cd
    assert ds["nums"] == [[30, 100, 93], [4, 4, 8], [3, 4, 6, 2]]
    assert ds["target"] == [23, 1, 16] and ds["gold"] == ["23", "1", "16"]
    assert ds["category"] == ["countdown_3", "countdown_3", "countdown_4"]


def test_cd3_variant(fixtures):
    task = get_task("countdown", variant="cd3", data_dir=fixtures / "countdown")
    ds = task.load()
    assert ds["nums"] == [[30, 100, 93], [9, 9, 9]] and ds["target"] == [23, 9]
    assert ds["id"][0] == "countdown-cd3/0"


def test_prompt_and_budget(cd):
    task, ds = cd
    prompt = task.build_prompt(ds[0])
    assert prompt.endswith("\n\nNumbers: [30, 100, 93]\nTarget: 23")
    assert "each number must be used exactly once" in prompt and '"Answer:"' in prompt
    assert task.answer_suffix == "Answer:"
    assert task.budget.gen_length == 256  # the paper's generation length (R = G - S - A)


@pytest.mark.parametrize(
    ("answer", "expr", "ok"),
    [
        (" (30+93)-100", "(30+93)-100", True),
        (" \\boxed{30 + 93 - 100}", "30 + 93 - 100", True),
        (" <answer>\\boxed{30 + 93 - 100}</answer>", "30 + 93 - 100", True),
        (" <answer>30 + 93 - 100</answer>", "30 + 93 - 100", True),
        (" 30 + 93 - 100 = 23", "30 + 93 - 100 = 23", True),
        ("\n100 - 93 + 30\nmore text", "100 - 93 + 30", False),
        (" 100//93+30", "100//93+30", False),
        # An unclosed box is read up to its end (issue 19); words in it still make it wrong.
        (" \\boxed{unclosed 30+93-100", "unclosed 30+93-100", False),
        (" \\boxed{30+93-100", "30+93-100", True),
        ("", None, False),
    ],
)
def test_score(cd, answer, expr, ok):
    task, ds = cd
    assert task.score(answer, ds[0]) == (expr, ok)


def test_extract_last_boxed():
    assert extract_expression("\\boxed{1+2} then \\boxed{3+4}") == "3+4"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"nums": [1, 2]}, "expected fields"),
        ({"nums": "[1, x]", "target": 3}, "not a list"),
        ({"nums": [1.5, 2], "target": 3}, "integers"),
        ({"nums": [1, 2], "target": "three"}, "field 'target'"),
    ],
)
def test_malformed_rows(tmp_path, row, message):
    (tmp_path / "test.jsonl").write_text(json.dumps(row))
    with pytest.raises(TaskDataError, match=f"row 1: .*{message}"):
        get_task("countdown", data_dir=tmp_path).load()


def test_bad_variant_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        get_task("countdown", variant="cd4")
    with pytest.raises(TaskDataError, match="countdown_cd3_test.jsonl.*SPG"):
        get_task("countdown", variant="cd3", data_dir=tmp_path).load()
