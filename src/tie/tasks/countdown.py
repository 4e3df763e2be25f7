"""Safe, exact Countdown checking: parse the expression with `ast`, never evaluate model text.

Only `+ - * /` and parentheses over non-negative integer literals are accepted; each given number
must be used exactly once (duplicates respected); arithmetic is exact (`Fraction`); division by
zero is a wrong answer. Input length, literal count and intermediate sizes are capped so a
pathological answer costs microseconds, not seconds. Differences from SPG's `eval`-based check:
`**`, `//`, unary minus and decimals are rejected here (SPG accepts some of them).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

MAX_EXPRESSION_CHARS = 200
MAX_NUMBERS = 12
MAX_VALUE_BITS = 4096  # far above any legal Countdown value; bounds intermediate products

_ALLOWED_CHARS = re.compile(r"^[0-9+\-*/()\s]+$")
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_LATEX_OPS = (
    ("\\times", "*"),
    ("\\cdot", "*"),
    ("\\div", "/"),
    ("\u00d7", "*"),
    ("\u00f7", "/"),
    ("\u2212", "-"),
    ("\\left", ""),
    ("\\right", ""),
    ("\\(", ""),
    ("\\)", ""),
    ("$", ""),
)
_TRAILING_RESULT = re.compile(r"^(?P<expr>[^=]+)=\s*(?P<rhs>\d+)\s*\.?\s*$")


class _Reject(Exception):
    """The expression is not a legal Countdown answer."""


def normalise_expression(expression: str) -> tuple[str, int | None]:
    """Map LaTeX operators to ASCII and split off a trailing `= N`; returns (expr, N or None)."""
    text = expression.strip()
    for latex, ascii_op in _LATEX_OPS:
        text = text.replace(latex, ascii_op)
    text = text.strip().rstrip(".").strip()
    match = _TRAILING_RESULT.match(text)
    if match:
        return match["expr"].strip(), int(match["rhs"])
    return text, None


def _check_value(value: Fraction) -> Fraction:
    if (
        value.numerator.bit_length() > MAX_VALUE_BITS
        or value.denominator.bit_length() > MAX_VALUE_BITS
    ):
        raise _Reject("intermediate value too large")
    return value


def _literals(node: ast.AST) -> list[int]:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _literals(node.left) + _literals(node.right)
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0:
        return [node.value]
    raise _Reject(f"disallowed syntax {type(node).__name__}")


def _evaluate(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    assert isinstance(node, ast.BinOp)  # guaranteed by _literals
    left, right = _evaluate(node.left), _evaluate(node.right)
    op = type(node.op)
    if op is ast.Add:
        return _check_value(left + right)
    if op is ast.Sub:
        return _check_value(left - right)
    if op is ast.Mult:
        return _check_value(left * right)
    if right == 0:
        raise _Reject("division by zero")
    return _check_value(left / right)


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        return int(value)
    raise ValueError(f"{what} must be an integer, got {value!r}")


def verify(expression: str | None, numbers: Sequence[int], target: int) -> bool:
    """True iff `expression` uses every number of `numbers` exactly once and equals `target`.

    `expression` is untrusted and never raises (anything illegal is False); `numbers` and
    `target` are task data and raise ValueError when they are not integers. A trailing
    `= N` is allowed only when N is the target.
    """
    nums = [_as_int(n, "each Countdown number") for n in numbers]
    goal = _as_int(target, "the Countdown target")
    if not nums or len(nums) > MAX_NUMBERS:
        raise ValueError(f"expected 1..{MAX_NUMBERS} Countdown numbers, got {len(nums)}")
    if not isinstance(expression, str) or len(expression) > 4 * MAX_EXPRESSION_CHARS:
        return False
    expr, claimed = normalise_expression(expression)
    if claimed is not None and claimed != goal:
        return False
    if not expr or len(expr) > MAX_EXPRESSION_CHARS or not _ALLOWED_CHARS.match(expr):
        return False
    try:
        tree = ast.parse(expr, mode="eval")
        literals = _literals(tree.body)
        if Counter(literals) != Counter(nums):
            return False
        return _evaluate(tree.body) == goal
    except (_Reject, SyntaxError, ValueError, RecursionError, MemoryError):
        return False
