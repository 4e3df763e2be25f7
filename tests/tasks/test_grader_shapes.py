"""Answer shapes real models write (issue 19), graded as a careful human would.

An outside check of 900+ LLaDA-8B-Instruct generations found these shapes marked wrong though
their answer is right (or, for the GSM8K parentheticals, read as the wrong number). The strings
here are small literals in the shape seen; no shared data is needed. Each test failed before the
fix it covers, except the guards (marked), which pin what must stay as it was.
"""

from __future__ import annotations

import time

import pytest

from tie.tasks.countdown import verify
from tie.tasks.countdown_task import CountdownTask, extract_expression
from tie.tasks.grading import extract_final_number, numeric_match, parse_number
from tie.tasks.gsm8k import GSM8KTask
from tie.tasks.math500 import Math500Task, extract_math_answer

EOT = "<|eot_id|><|endoftext|>"
NUMS, TARGET = [48, 29, 16], 93  # 48 + 29 + 16 = 93
CD_ROW = {"nums": NUMS, "target": TARGET, "gold": str(TARGET)}


# --- Countdown: extraction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "region",
    [
        "\n\\[ 48 + 29 + 16 \\]\n</answer>" + EOT,  # display math on one line
        "\n\\[\n48 + 29 + 16\n\\]\n</answer>" + EOT,  # display math over three lines
        "\n$$\n48 + 29 + 16\n$$",
        "\n<>\n\\[48+29+16\\]\n>",
        "\n\\boxed{48 + 29 + 16",  # unclosed box at the end of a truncated answer
        "\n\\boxed{48 + 29 + 16\n</answer>" + EOT,
        "\nboxed{48 + 29 + 16}\n</answer>",  # the backslash lost
        "\n\\boxed{}48 + 29 + 16",  # an empty box, then the answer
        "\nThe expression is:\n48 + 29 + 16",  # a line of words before the expression
    ],
)
def test_countdown_display_math_and_boxes(region):
    task = CountdownTask(variant="cd3")
    extracted, ok = task.score(region, CD_ROW)
    assert ok, (region, extracted)


def test_countdown_markup_alone_is_no_answer():
    assert extract_expression("\n\\[\n\\]\n") is None  # was `\[`


def test_countdown_extraction_guards():
    # Guard: a closed last box still wins over the lines, and an empty box alone is no answer.
    assert extract_expression("\\boxed{1+2} then \\boxed{3+4}") == "3+4"
    assert extract_expression("\n\\[ \\boxed{48 + 29 + 16} \\]") == "48 + 29 + 16"
    assert extract_expression("\n\\boxed{}\n</answer>") is None
    # Guard: the first line with a digit is the answer, a later right one is not looked for.
    assert not CountdownTask(variant="cd3").score("\n48 + 29\n48 + 29 + 16", CD_ROW)[1]


# --- Countdown: the checker ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "48\u00a0+\u00a029\u00a0+\u00a016",  # non-breaking spaces
        "48\u2009+\u200929\u202f+\u202f16",  # thin and narrow no-break spaces
        "\uff14\uff18 + \uff12\uff19 + \uff11\uff16",  # full-width digits
        "\uff14\uff18\uff0b\uff12\uff19\uff0b\uff11\uff16",  # full-width digits and plus
        "48 + 29 + 16 = 93.0",
        "48 + 29 + 16 = 93.00.",
        "93 = 48 + 29 + 16",  # the result first, the expression on the right
        "93 = 48 + 29 + 16 = 93",
        "[48 + 29] + 16",
        "{48 + 29} + 16",
        "\\{48 + 29\\} + 16",
        "\\left[ 48 + 29 \\right] + 16",
        "\\[ 48 + 29 + 16 \\]",
        "\\displaystyle 48 + 29 + 16",
    ],
)
def test_countdown_spaces_digits_results_brackets(expr):
    assert verify(expr, NUMS, TARGET), expr


@pytest.mark.parametrize(
    ("expr", "nums", "target"),
    [
        ("(4 \u00b7 4) - 8", [4, 4, 8], 8),  # middle dot
        ("4 \u22c5 4 - 8", [4, 4, 8], 8),  # dot operator
        ("30 + 93 \u2013 100", [30, 100, 93], 23),  # en dash as minus
        ("\\frac{6}{3} \\times 4", [6, 3, 4], 8),
        ("\\frac{6 \\times 4}{3}", [6, 3, 4], 8),
        ("\\dfrac{6}{\\frac{3}{4}}", [6, 3, 4], 8),  # nested
    ],
)
def test_countdown_operators_and_frac(expr, nums, target):
    assert verify(expr, nums, target), expr


@pytest.mark.parametrize(
    "expr",
    [
        "48 + 29 + 16 = 93.5",  # a claimed result must be the target
        "48 + 29 + 16 = 94.0",
        "94 = 48 + 29 + 16",
        "93 = 48 + 29 + 15",
        "48 + 29 = 77 + 16",  # two expressions: not one answer
        "48 + 29 = 77, 77 + 16 = 93",
        "\\frac{48}{1} + 29 + 16",  # 1 is not a given number
        "48.0 + 29 + 16",  # decimals stay rejected
        "\uff14\uff18\uff0a\uff0a2 + 29",  # full-width `**` is still a power
        "\\frac{__import__('os')}{1} + 29 + 16",
        "48 + 29 + 16 \u00b2",
    ],
)
def test_countdown_still_wrong(expr):
    assert not verify(expr, NUMS, TARGET), expr


def test_countdown_normalisation_stays_fast():
    start = time.perf_counter()
    assert not verify("\\frac{" * 150 + "1" + "}{2}" * 150, [1, 2], 1)
    assert not verify("\uff11" * 800, [1], 1)
    assert not verify("=" * 800, [1], 1)
    assert time.perf_counter() - start < 0.5


# --- GSM8K --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (" $18 (since 9 = 3 * 3)", "18"),  # a parenthetical's `=` is an aside
        (" 18 (because 2 = 1 + 1) dollars", "18"),
        (" \\boxed{18 (since 9 = 3 * 3)}", "18"),
        (" 15 = 5 \\times 3", "15"),  # the single number, left of the `=`
        (" 1 000 000", "1000000"),
        (" 1\u00a0000\u00a0000 dollars", "1000000"),  # non-breaking spaces
        (" 12\u2009500", "12500"),  # thin space
        (" 12\u202f500", "12500"),  # narrow no-break space
        (" $1\\,250$", "1250"),  # LaTeX thin space
        (" .5", "1/2"),
        (" -.25 of it", "-1/4"),
        (" 1 1/2 cups", "3/2"),  # a mixed number
        (" -2 3/4", "-11/4"),
        (" 2\\frac{1}{2}", "5/2"),
        (" 1 \\frac{1}{2} hours", "3/2"),
        (" \u2212 5", "-5"),  # U+2212 MINUS SIGN, then a space
        (" x = \u2212 5", "-5"),
        (" \uff11\uff18", "18"),  # full-width digits
        (" Darla has 25 left.\nboxed{27}", "27"),  # the backslash lost: still the last box
        (" Darla has 25 left.\n\\boxed{}27", "27"),  # an empty box, then the answer
        (" so 25 are left, and \\boxed{1375", "1375"),  # a last box never closed
        (" so 12 hours a day\n\\boxed{360\\text{ hours} hours.\n</answer>", "360"),
        (" \\boxed{3} then \\boxed{360\n</answer>", "360"),
    ],
)
def test_gsm8k_shapes(answer, expected):
    assert extract_final_number(answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # Guards: the rules these shapes must not break.
        (" 2 + 3 = 5", "5"),
        (" Total = 5 + 10 = 15", "15"),
        (" x = \u22125", "-5"),
        (" \u20135 degrees", "-5"),  # an en dash touching the digits is a minus
        (" 5 \\times 3 = 15 dollars", "15"),
        (" 18 dollars (9*2)", "18"),
        (" 3/4 = 0.75", "3/4"),
        (" 100 / 4 = 25", "25"),
        (" (3 + 4) \\times 2 = 14", "14"),
        (" (-5)", "-5"),
        (" - 5", "5"),  # an ASCII minus apart from the digits may be a list bullet
        (" 5 10/2", "5"),  # not a proper fraction: not a mixed number
        (" 1,234,567", "1234567"),
        (" 1 0000", "1"),  # not a thousands group
        (" 3.5", "7/2"),
        (" 30 + 93 \u2212 100 = 23", "23"),
        (" \\boxed{7} and \\boxed{x", "7"),  # an unclosed box without a number: the last closed one
    ],
)
def test_gsm8k_guards(answer, expected):
    assert extract_final_number(answer) == expected


def test_gsm8k_task_grades_the_shapes():
    task = GSM8KTask()
    row = {"id": "gsm8k/x", "gold": "18", "category": "gsm8k", "question": "q"}
    assert task.score(" $18 (since 9 = 3 * 3)" + EOT, row) == ("18", True)
    assert numeric_match("1 1/2", "3/2") and numeric_match("\u2212 5", "-5")
    assert parse_number("\uff11,\uff12\uff13\uff14") == 1234


# --- MATH500 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("\nboxed{255}\n</answer>" + EOT, "255"),  # the backslash lost
        ("\n\\boxed{}32\n</answer>" + EOT, "32"),  # an empty box, then the answer
        ("\n\\boxed{} 32.", "32"),
        ("\n\\boxed{}\\frac{1}{4}</answer>", "\\frac{1}{4}"),
        ("\nso x = 3 and\n\\boxed{2000\n</answer>" + EOT, "2000"),  # a last box never closed
        ("\n\\boxed{3}, \\boxed{\\frac{1}{2}</answer>", "\\frac{1}{2}"),
        ("\n\\boxed{}\n</answer>" + EOT, None),  # guard: an empty box alone is no answer
        ("\nso \\(\\boxed{}\\) dollars", None),  # guard: nothing after the box is an answer
    ],
)
def test_math500_box_shapes(region, expected):
    assert Math500Task().extract(region, {"gold": "1"}) == expected


def test_math500_bare_box_needs_a_word_boundary():
    # Guard: `unboxed{...}` is a word, not a box whose backslash was lost.
    assert extract_math_answer("Answer: unboxed{3}") == "unboxed{3}"
