"""Numeric answer extraction and exact grading (GSM8K, also used by the synthetic `synth_math`).

Regexes only, never `eval`: answers are untrusted model text. Numbers are compared as
`fractions.Fraction`, so `18.00 == 18` and `3/4 == 0.75` exactly, with no float tolerance.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

MAX_ANSWER_CHARS = (
    2000  # answers longer than this are cut before any regex (no backtracking blow-up)
)

# A number: thousands grouped by commas or single spaces (`1,234`, `1 000 000`), plain digits or
# none before a decimal point (`.5`), optional decimals; then either a proper fraction after a
# space (a mixed number, `1 1/2`) or a `/denominator`.
_NUMBER = re.compile(
    r"(?<![0-9.])(?P<sign>-?)"
    r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?: [0-9]{3})+(?![0-9])|[0-9]+|(?=\.[0-9]))"
    r"(?P<decimals>\.[0-9]+)?"
    r"(?: +(?P<mixed_num>[0-9]+) ?/ ?(?P<mixed_den>[0-9]+)(?![0-9]|\.[0-9])"
    r"|\s?/\s?(?P<den>[0-9]+)(?!\.[0-9]))?"
    r"(?![0-9])"
)
_FRAC = re.compile(r"\\[dt]?frac\{\s*(-?[0-9]+)\s*\}\{\s*([0-9]+)\s*\}")
_FRAC_AFTER_DIGIT = re.compile(r"(?<=[0-9])\s*(?=\\[dt]?frac\{)")  # `1\frac{1}{2}`: mixed
_BOXED = re.compile(r"\\boxed\s*\{")
_BRACE_TOKEN = re.compile(r"\\boxed\{|[{}]")
_MATH_MINUS = re.compile("\u2212\\s*(?=[0-9.])")  # `− 5` is -5 (U+2212 is never a bullet)
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})
_WORD = re.compile(r"[0-9A-Za-z]")  # a line without one is markup only (`<>`, `\[`, `</>`)
_PARENTHETICAL = re.compile(r"\([^()]*\)")
# Spaces other than ' ' (NBSP, thin, narrow NBSP, ideographic, ...) and zero-width marks.
_SPACES = str.maketrans(
    {
        **{chr(c): " " for c in (0x00A0, 0x2007, 0x2008, 0x2009, 0x200A, 0x202F, 0x205F, 0x3000)},
        **{chr(c): "" for c in (0x200B, 0x2060, 0xFEFF)},
    }
)
_ANY_BOX = re.compile(r"(?:\\|(?<![\\A-Za-z]))boxed\s*\{")  # `boxed{4}`, `\boxed {4}`
_EMPTY_BOX = re.compile(r"\\boxed\{\s*\}[ \t]*(?=[0-9A-Za-z(\[-]|\\[A-Za-z])(?P<rest>[^\n]*)")
_TAG = re.compile(r"</|<\|")


def normalise_unicode(text: str) -> str:
    """ASCII digits and spaces for the Unicode ones models write (`９３` -> `93`, NBSP -> ` `).

    Listed by hand rather than NFKC, which would also turn `3²` into `32`.
    """
    if text.isascii():
        return text
    out = []
    for ch in text.translate(_SPACES):
        if ch.isdecimal() and not ch.isascii():
            out.append(str(unicodedata.decimal(ch)))
        elif 0xFF01 <= ord(ch) <= 0xFF5E:  # the full-width ASCII block: `＋`, `（`, `＝`
            out.append(chr(ord(ch) - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def normalise_boxes(text: str) -> str:
    """Boxes as models write them, spelled `\\boxed{...}` so one box reader serves every task.

    `boxed{4}` (backslash lost) and `\\boxed {4}` become `\\boxed{4}`; an empty box followed
    on its line by an answer (`\\boxed{}32`) becomes `\\boxed{32}` (the text up to a `</...>`
    or `<|...|>` tag).
    """

    def fill(match: re.Match) -> str:
        rest = match["rest"]
        tag = _TAG.search(rest)
        answer = rest[: tag.start()] if tag else rest
        return "\\boxed{" + answer.rstrip() + "}" + rest[len(answer.rstrip()) :]

    return _EMPTY_BOX.sub(fill, _ANY_BOX.sub(r"\\boxed{", text))


def _clean(text: str) -> str:
    """Drop currency marks and LaTeX wrappers that hide a plain number."""
    text = _MATH_MINUS.sub("-", normalise_unicode(text[:MAX_ANSWER_CHARS])).translate(_MINUS)
    text = _FRAC.sub(r"\1/\2", _FRAC_AFTER_DIGIT.sub(" ", text))
    text = _BOXED.sub("", text)
    for token in ("\\$", "$", "\\(", "\\)", "\\!", "\\,", "**"):
        text = text.replace(token, " " if token in ("\\,",) else "")
    return text


def parse_number(text: str | None) -> Fraction | None:
    """The first number in `text` as an exact Fraction, None when there is none.

    Accepts `1,234`, `1 000 000`, `-3`, `− 5` (U+2212), `18.00`, `.5`, `3/4`, `1 1/2`,
    `\\frac{3}{4}`, `$5`, `12 dollars.`, full-width digits; a denominator of zero gives None. An
    ASCII minus must touch the digits (`- 5` may be a list bullet).
    """
    if text is None:
        return None
    match = _NUMBER.search(_clean(text))
    if match is None:
        return None
    whole = re.sub("[, ]", "", match["whole"]) or "0"
    value = Fraction(whole + (match["decimals"] or ""))
    numerator, denominator = match["mixed_num"], match["mixed_den"]
    if numerator is not None:  # `1 1/2`; `5 10/2` is not a mixed number: its first number is 5
        if not match["decimals"] and 0 < int(numerator) < int(denominator):
            value += Fraction(int(numerator), int(denominator))
    elif match["den"] is not None:
        if int(match["den"]) == 0:
            return None
        value /= int(match["den"])
    return -value if match["sign"] else value


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


def unclosed_last_box(text: str) -> str | None:
    """The rest of the line after the last `\\boxed{` when that box is never closed, else None.

    `\\boxed{1375` at the end of a truncated answer still states 1375; a `</...>` or `<|...|>`
    tag ends the line.
    """
    start = text.rfind("\\boxed{")
    if start == -1:
        return None
    depth = 0
    for i in range(start + len("\\boxed"), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return None
    line = text[start + len("\\boxed{") :].split("\n", 1)[0]
    tag = _TAG.search(line)
    return line[: tag.start()] if tag else line


def _count_numbers(text: str) -> int:
    return sum(1 for _ in _NUMBER.finditer(text))


def _drop_parentheticals(line: str) -> str:
    for _ in range(8):  # innermost first; nesting deeper than this is left as it is
        line, count = _PARENTHETICAL.subn(" ", line)
        if not count:
            break
    return line


def _line_number(line: str) -> Fraction | None:
    """The number a line states as its result.

    Parentheticals are asides (`$18 (since 9 = 3 * 3)` is 18) unless they hold the only number.
    Of the sides of `=`, the last that is a single number is the result, wherever it stands
    (`2 + 3 = 5` and `15 = 5 \\times 3` both state their single number); with no such side, the
    first number after the last `=` that has one; with no `=`, the first number of the line.
    """
    for text in (_drop_parentheticals(line), line):
        sides = text.split("=")
        if len(sides) > 1:
            single = [side for side in sides if _count_numbers(side) == 1]
            if single:
                return parse_number(single[-1])
            later = [side for side in sides[1:] if parse_number(side) is not None]
            if later:
                return parse_number(later[-1])
        value = parse_number(text)
        if value is not None:
            return value
    return None


def extract_final_number(answer_text: str | None) -> str | None:
    """The numeric answer from an answer region, as a canonical string (`"18"`, `"-3"`, `"3/4"`).

    Rule (our decision, see research/benchmarks.md 3): when the region holds a `\\boxed{...}`
    with a number, the last such box (models trained on boxed answers box them even after
    `Answer:`, often after a line of markup or more reasoning); a last box never closed counts,
    read to the end of its line. Otherwise the first line with a letter or digit (markup-only
    lines such as `\\[` or `<>` are skipped). Within the box or line, the number it states as its
    result (`_line_number`): `2 + 3 = 5` and `15 = 5 \\times 3` give their single-number side,
    `18 dollars (9*2)` its first number, and a parenthetical is an aside.
    """
    if not answer_text:
        return None
    text = normalise_boxes(answer_text[:MAX_ANSWER_CHARS])
    unclosed = unclosed_last_box(text)
    for content in ([unclosed] if unclosed else []) + boxed_contents(text)[::-1]:
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
