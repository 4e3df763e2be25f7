"""`synth_countdown`: Countdown with small number sets (planning; expression answer).

A problem lists numbers and a target (`3,5,4>32`); the worked chain combines them left to right
(`3+5=8;8*4=32;`), and after the `Answer:` suffix comes one expression using every number once
(`(3+5)*4`), checked by the safe verifier `tie.tasks.countdown.verify` (any correct expression
counts, not only the gold one). Categories: `additive` (only + and -), `multiplicative` (only *),
`mixed`. Options: `seed`, `n`, `split` ("test" default, "dev"), `n_numbers` (3 default, or 4),
`max_number` (20 default; numbers are drawn from 1..max_number). Every intermediate value stays
in 0..999 so the chain fits the reasoning budget.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where rows are built: the config check stays light
    import datasets

from tie.tasks.base import CanvasBudget, Task
from tie.tasks.countdown import verify
from tie.tasks.synth_world import check_seed_n, check_split, split_of

OPS = ("+", "-", "*")
ANSWER_LEN = {3: 12, 4: 16}
REASONING_LEN = {3: 24, 4: 40}
MAX_VALUE = 999
MAX_TRIES_PER_ROW = 2000


def solve_chain(numbers: list[int], ops: list[str]) -> tuple[str, str, int]:
    """(reasoning chain, expression, value) of combining `numbers` left to right with `ops`."""
    if len(ops) != len(numbers) - 1:
        raise ValueError("need one operator fewer than numbers")
    expr, value, last_op = str(numbers[0]), numbers[0], None
    steps = []
    for op, num in zip(ops, numbers[1:]):
        if op not in OPS:
            raise ValueError(f"unknown operator {op!r}; known: {OPS}")
        new = value + num if op == "+" else value - num if op == "-" else value * num
        steps.append(f"{value}{op}{num}={new};")
        if op == "*" and last_op in ("+", "-"):
            expr = f"({expr})"
        expr, value, last_op = f"{expr}{op}{num}", new, op
    return "".join(steps), expr, value


def category_of(ops: list[str]) -> str:
    if all(op == "*" for op in ops):
        return "multiplicative"
    return "additive" if "*" not in ops else "mixed"


def sample_problem(
    rng: random.Random, n_numbers: int, max_number: int
) -> tuple[list[int], list[str]]:
    """Numbers and operators whose left-to-right chain never goes negative."""
    numbers = [rng.randint(1, max_number) for _ in range(n_numbers)]
    ops: list[str] = []
    value = numbers[0]
    for num in numbers[1:]:
        allowed = [op for op in OPS if (op != "-" or value >= num)]
        allowed = [op for op in allowed if op != "*" or value * num <= MAX_VALUE]
        op = rng.choice(allowed)
        ops.append(op)
        value = value + num if op == "+" else value - num if op == "-" else value * num
    return numbers, ops


def format_prompt(numbers: list[int], target: int) -> str:
    return ",".join(str(x) for x in numbers) + f">{target}"


def problem_key(numbers: list[int], target: int) -> str:
    return "synth_countdown|" + ",".join(str(x) for x in sorted(numbers)) + f">{target}"


class SynthCountdownTask(Task):
    name = "synth_countdown"
    answer_suffix = "Answer:"

    def __init__(
        self,
        seed: int = 0,
        n: int = 500,
        split: str = "test",
        n_numbers: int = 3,
        max_number: int = 20,
    ):
        check_seed_n(seed, n)
        self.split = check_split(split)
        if split == "train":
            raise ValueError(
                "split='train' is for the zoo trainer only; evaluate on 'test' or 'dev'"
            )
        if n_numbers not in REASONING_LEN:
            raise ValueError(f"n_numbers must be one of {sorted(REASONING_LEN)}, got {n_numbers!r}")
        if not isinstance(max_number, int) or not 2 <= max_number <= 30:
            raise ValueError(f"max_number must be an int in [2, 30], got {max_number!r}")
        self.seed, self.n, self.n_numbers, self.max_number = seed, n, n_numbers, max_number
        self.budget = CanvasBudget(
            reasoning_len=REASONING_LEN[n_numbers], answer_len=ANSWER_LEN[n_numbers]
        )

    def load(self) -> datasets.Dataset:
        import datasets

        return datasets.Dataset.from_list(self.rows())

    def rows(self) -> list[dict[str, Any]]:
        rng = random.Random(f"synth_countdown|{self.split}|{self.n_numbers}|{self.seed}")
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        tries = 0
        while len(rows) < self.n:
            tries += 1
            if tries > MAX_TRIES_PER_ROW * self.n:
                raise ValueError(f"cannot draw {self.n} distinct {self.split} problems; lower n")
            numbers, ops = sample_problem(rng, self.n_numbers, self.max_number)
            reasoning, expression, target = solve_chain(numbers, ops)
            key = problem_key(numbers, target)
            if key in seen or split_of(key) != self.split:
                continue
            seen.add(key)
            rows.append(
                {
                    "id": f"synth_countdown-{self.split}-{self.seed}-{len(rows):05d}",
                    "prompt": format_prompt(numbers, target),
                    "reasoning": reasoning,
                    "answer": expression,
                    "gold": expression,
                    "numbers": numbers,
                    "target": target,
                    "category": category_of(ops),
                }
            )
        return rows

    def build_prompt(self, row: dict[str, Any]) -> str:
        return row["prompt"]

    def extract(self, answer_text: str, row: dict[str, Any]) -> str | None:
        lines = [ln.strip() for ln in (answer_text or "").splitlines() if ln.strip()]
        return lines[0] if lines else None

    def grade(self, extracted: str | None, row: dict[str, Any]) -> bool:
        return verify(extracted, row["numbers"], row["target"])
