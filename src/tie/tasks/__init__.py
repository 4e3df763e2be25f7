"""Task registry: `get_task(name, **options)` and `list_tasks()`.

Task modules are imported lazily, so importing `tie.tasks` stays cheap and a missing optional
module (e.g. the synthetic testbed while it is being written) only fails when it is asked for.
"""

from __future__ import annotations

import importlib

from tie.tasks.base import CanvasBudget, Task, TaskDataError

# name -> (module, class name)
_REGISTRY: dict[str, tuple[str, str]] = {
    "synth_math": ("tie.tasks.synth_math", "SynthMathTask"),
    "synth_countdown": ("tie.tasks.synth_countdown", "SynthCountdownTask"),
    "mmlu": ("tie.tasks.multiple_choice", "MMLUTask"),
    "mmlu_star": ("tie.tasks.multiple_choice", "MMLUStarTask"),
    "arc_c": ("tie.tasks.multiple_choice", "ARCChallengeTask"),
    "winogrande": ("tie.tasks.multiple_choice", "WinoGrandeTask"),
    "gsm8k": ("tie.tasks.gsm8k", "GSM8KTask"),
    "math500": ("tie.tasks.math500", "Math500Task"),
    "humaneval": ("tie.tasks.code", "HumanEvalTask"),
    "mbpp": ("tie.tasks.code", "MBPPTask"),
    "countdown": ("tie.tasks.countdown_task", "CountdownTask"),
}


def list_tasks() -> list[str]:
    """Every registered task name (whether or not its module is importable right now)."""
    return sorted(_REGISTRY)


def task_class(name: str) -> type[Task]:
    """The class registered under `name`; clear errors for unknown names and missing modules."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(list_tasks())}")
    module_name, class_name = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise ImportError(
            f"task {name!r} needs module {module_name} (class {class_name}), which is not present"
        ) from err
    try:
        return getattr(module, class_name)
    except AttributeError as err:
        raise ImportError(f"task {name!r}: module {module_name} has no class {class_name}") from err


def get_task(name: str, **options) -> Task:
    """Instantiate the task registered under `name` with its options (e.g. `data_files`)."""
    return task_class(name)(**options)


__all__ = ["CanvasBudget", "Task", "TaskDataError", "get_task", "list_tasks", "task_class"]
