"""The task registry (`tie.tasks.get_task`, `list_tasks`)."""

import pytest

import tie.tasks as tasks


def test_list_tasks_names_every_contract_task():
    expected = {
        "synth_math",
        "synth_countdown",
        "mmlu",
        "mmlu_star",
        "arc_c",
        "winogrande",
        "gsm8k",
        "math500",
        "humaneval",
        "mbpp",
        "countdown",
    }
    assert set(tasks.list_tasks()) == expected


def test_unknown_task_names_the_known_ones():
    with pytest.raises(KeyError, match="known tasks: .*gsm8k"):
        tasks.get_task("gsm9k")


def test_missing_module_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(tasks._REGISTRY, "ghost", ("tie.tasks.no_such_module", "GhostTask"))
    with pytest.raises(ImportError, match="no_such_module.*GhostTask"):
        tasks.get_task("ghost")


def test_missing_class_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(tasks._REGISTRY, "ghost", ("tie.tasks.grading", "GhostTask"))
    with pytest.raises(ImportError, match="no class GhostTask"):
        tasks.get_task("ghost")


@pytest.mark.parametrize(
    "name",
    [
        "mmlu",
        "mmlu_star",
        "arc_c",
        "winogrande",
        "gsm8k",
        "math500",
        "humaneval",
        "mbpp",
        "countdown",
    ],
)
def test_every_benchmark_instantiates_with_its_name(name):
    task = tasks.get_task(name)
    assert task.name == name and task.answer_suffix in ("Answer:", "```python\n")
    assert task.budget.gen_length % 16 == 0 and task.budget.answer_len > 0
