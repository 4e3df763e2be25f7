"""Numeric answer extraction and exact grading (GSM8K, also used by the synthetic `synth_math`).

Regexes only, never `eval`: answers are untrusted model text. Numbers are compared as
`fractions.Fraction`, so `18.00 == 18` and `3/4 == 0.75` exactly, with no float tolerance.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_ANSWER_CHARS = (
    2000  # answers longer than this are cut before any regex (no backtracking blow-up)
)

# A number: thousands-grouped or plain digits, optional decimals, optional "/denominator".
_NUMBER = re.compile(
    r"(?<![0-9.])(-?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]+)?(?:\s?/\s?([0-9]+)(?!\.[0-9]))?(?![0-9])"
)
_FRAC = re.compile(r"\\[dt]?frac\{\s*(-?[0-9]+)\s*\}\{\s*([0-9]+)\s*\}")
_BOXED = re.compile(r"\\boxed\s*\{")
_BRACE_TOKEN = re.compile(r"\\boxed\{|[{}]")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})
_WORD = re.compile(r"[0-9A-Za-z]")  # a line without one is markup only (`<>`, `\[`, `</>`)


def _clean(text: str) -> str:
    """Drop currency marks and LaTeX wrappers that hide a plain number."""
    text = text[:MAX_ANSWER_CHARS].translate(_MINUS)
    text = _FRAC.sub(r"\1/\2", text)
    text = _BOXED.sub("", text)
    for token in ("\\$", "$", "\\(", "\\)", "\\!", "\\,", "**"):
        text = text.replace(token, " " if token in ("\\,",) else "")
    return text


def parse_number(text: str | None) -> Fraction | None:
    """The first number in `text` as an exact Fraction, None when there is none.

    Accepts `1,234`, `-3`, `18.00`, `3/4`, `\\frac{3}{4}`, `$5`, `12 dollars.`; a denominator of
    zero gives None. The minus sign must touch the digits.
    """
    if text is None:
        return None
    match = _NUMBER.search(_clean(text))
    if match is None:
        return None
    sign, whole, decimals, denominator = match.groups()
    value = Fraction((whole.replace(",", "")) + (decimals or ""))
    if denominator is not None:
        if int(denominator) == 0:
            return None
        value /= int(denominator)
    return -value if sign else value


def boxed_contents(text: str) -> list[str]:
    """Contents of every closed, brace-matched `\\boxed{...}` in `text`, in order of opening.

    One linear pass over the braces, so a long run of unclosed boxes costs O(n), not O(n^2).
    """
    found, stack = [], []  # stack: (content start, opened by \boxed{)
    for token in _BRACE_TOKEN.finditer(text):
        if token.group() == "}":
            if stack:
                begin, is_box = stack.pop()
                if is_box:
                    found.append((begin, text[begin : token.start()]))
        else:
            stack.append((token.end(), token.group() != "{"))
    return [content for _, content in sorted(found)]


def _line_number(line: str) -> Fraction | None:
    candidates = [part for part in reversed(line.split("=")[1:]) if parse_number(part) is not None]
    return parse_number(candidates[0] if candidates else line)


def extract_final_number(answer_text: str | None) -> str | None:
    """The numeric answer from an answer region, as a canonical string (`"18"`, `"-3"`, `"3/4"`).

    Rule (our decision, see research/benchmarks.md 3): when the region holds a closed
    `\\boxed{...}` with a number, the last such box (models trained on boxed answers box them even
    after `Answer:`, often after a line of markup or more reasoning). Otherwise the first line
    with a letter or digit (markup-only lines such as `\\[` or `<>` are skipped); if it holds an
    `=`, the text after the last `=` that contains a number (so `2 + 3 = 5` gives 5); otherwise the
    first number of the line (so `18 dollars (9*2)` gives 18).
    """
    if not answer_text:
        return None
    text = answer_text[:MAX_ANSWER_CHARS]
    for content in reversed(boxed_contents(text)):
        value = _line_number(_clean(content).replace("\n", " "))
        if value is not None:
            return format_number(value)
    lines = [ln for ln in _clean(text).splitlines() if _WORD.search(ln)]
    if not lines:
        return None
    value = _line_number(lines[0])
    return None if value is None else format_number(value)


def format_number(value: Fraction) -> str:
    """Canonical text of an exact number: integers plain, others as `p/q`."""
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def parse_gold(gold: str | int | Fraction) -> Fraction:
    """The exact value of a gold answer (`"1,234"`, `"#### 72"`, `-3`); raises on a bad gold."""
    if isinstance(gold, bool):
        raise ValueError(f"gold must be a number or numeric string, got {gold!r}")
    if isinstance(gold, int | Fraction):
        return Fraction(gold)
    if not isinstance(gold, str):
        raise ValueError(f"gold must be a number or numeric string, got {type(gold).__name__}")
    text = gold.rsplit("####", 1)[-1] if "####" in gold else gold
    value = parse_number(text)
    if value is None:
        raise ValueError(f"gold answer {gold!r} holds no number")
    return value


def numeric_match(extracted: str | None, gold: str | int | Fraction) -> bool:
    """True iff the first number in `extracted` equals the gold value exactly (Fraction equality).

    `extracted` is untrusted (None or text without a number is simply wrong); `gold` is task data
    and raises ValueError when it holds no number.
    """
    expected = parse_gold(gold)
    value = parse_number(extracted)
    return value is not None and value == expected
