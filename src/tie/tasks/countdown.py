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

from tie.tasks.grading import normalise_unicode

MAX_EXPRESSION_CHARS = 200
MAX_NUMBERS = 12
MAX_VALUE_BITS = 4096  # far above any legal Countdown value; bounds intermediate products

_ALLOWED_CHARS = re.compile(r"^[0-9+\-*/() ]+$")
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
# Characters models write for ASCII operators (digits and spaces: `grading.normalise_unicode`).
_UNICODE = str.maketrans(
    {
        **{chr(c): "-" for c in (0x2212, 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0xFE63)},
        **{chr(c): "*" for c in (0x00D7, 0x00B7, 0x22C5, 0x2219, 0x2217)},
        "\u00f7": "/",
        "\u2215": "/",
        "\u2044": "/",
    }
)
_BRACKETS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")"})
_LATEX_OPS = (
    ("\\displaystyle", ""),
    ("\\left", ""),
    ("\\right", ""),
    ("\\bigl", ""),
    ("\\bigr", ""),
    ("\\big", ""),
    ("\\[", " "),
    ("\\]", " "),
    ("\\(", " "),
    ("\\)", " "),
    ("\\{", "{"),
    ("\\}", "}"),
    ("\\times", "*"),
    ("\\cdot", "*"),
    ("\\ast", "*"),
    ("\\div", "/"),
    ("\\,", " "),
    ("\\;", " "),
    ("\\:", " "),
    ("\\!", ""),
    ("\\quad", " "),
    ("\\ ", " "),
    ("$", ""),
)
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_RESULT = re.compile(r"^\s*[0-9]+(?:\.[0-9]+)?\s*$")  # one side of `=` that is only a number


class _Reject(Exception):
    """The expression is not a legal Countdown answer."""


def normalise_expression(expression: str) -> tuple[str, list[Fraction]]:
    """The ASCII expression and the values it is claimed to equal: `93 = 48+45` -> (`48+45`, [93]).

    Maps LaTeX and Unicode operators, spaces, digits and brackets to ASCII, `\\frac{a}{b}` to
    `(a)/(b)`, then splits on `=`: the sides that are only a number (`93`, `93.0`) are claims of
    the result, and the one side that is not is the expression. With two expression sides
    (`48 + 29 = 77 + 16`) the text is returned whole, which then fails the character check.
    """
    text = normalise_unicode(expression).translate(_UNICODE)
    for latex, ascii_op in _LATEX_OPS:
        text = text.replace(latex, ascii_op)
    for _ in range(MAX_NUMBERS):  # innermost first: `\\frac{\\frac{a}{b}}{c}`
        text, count = _FRAC.subn(r"(\1)/(\2)", text)
        if not count:
            break
    text = " ".join(text.translate(_BRACKETS).split()).rstrip(".").strip()
    if "=" not in text:
        return text, []
    sides = [side.strip() for side in text.split("=")]
    claims = [Fraction(side.strip()) for side in sides if _RESULT.match(side)]
    exprs = [side for side in sides if not _RESULT.match(side)]
    if not exprs:  # `93 = 93`: the first side is the expression
        return sides[0], claims[1:]
    if len(exprs) == 1:
        return exprs[0], claims
    return text, claims


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
    expr, claims = normalise_expression(expression)
    if any(claim != goal for claim in claims):
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
