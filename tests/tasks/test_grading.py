"""GSM8K-style numeric extraction and exact grading (`tie.tasks.grading`)."""

from fractions import Fraction

import pytest

from tie.tasks.grading import extract_final_number, numeric_match, parse_gold, parse_number


@pytest.mark.parametrize(
    ("gold", "value"),
    [("#### 1,234", 1234), ("Natalia sold 48.\n#### 72", 72), ("#### -3", -3), ("18", 18), (7, 7)],
)
def test_parse_gold(gold, value):
    assert parse_gold(gold) == value


@pytest.mark.parametrize("gold", ["#### none", "", None, True, 1.5])
def test_bad_gold_raises(gold):
    with pytest.raises(ValueError):
        parse_gold(gold)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (" $1,234", "1234"),
        (" 18.00", "18"),
        (" -3", "-3"),
        (" \u22123", "-3"),
        (" 18 dollars (9*2)", "18"),
        ("\n42", "42"),
        ("\n\n  42\nThe reasoning said 7", "42"),
        (" 2 + 3 = 5", "5"),
        (" x = 12 dollars", "12"),
        (" \\boxed{18}", "18"),
        (" \\frac{3}{4}", "3/4"),
        (" 3/4", "3/4"),
        (" $18.", "18"),
        (" 0.5", "1/2"),
        (" **72**", "72"),
        (" no number here", None),
        ("", None),
        (None, None),
        (" 5/0", None),
    ],
)
def test_extract_final_number(answer, expected):
    assert extract_final_number(answer) == expected


def test_extract_only_first_nonempty_line():
    # The number on a later line must not be used when the first line has none.
    assert extract_final_number("unknown\n42") is None


@pytest.mark.parametrize(
    ("extracted", "gold", "ok"),
    [
        ("1234", "#### 1,234", True),
        ("$1,234", "1234", True),
        ("18.00", "18", True),
        ("18.5", "18", False),
        ("-3", "#### -3", True),
        ("3", "#### -3", False),
        ("3/4", Fraction(3, 4), True),
        ("0.75", Fraction(3, 4), True),
        ("18.", "18", True),
        ("18 dollars", "18", True),
        (None, "18", False),
        ("", "18", False),
        ("eighteen", "18", False),
        ("1,234,567", "1234567", True),
    ],
)
def test_numeric_match(extracted, gold, ok):
    assert numeric_match(extracted, gold) is ok


def test_numeric_match_is_exact_not_float():
    # 0.1 + 0.2 style float noise must not matter, and near misses must fail.
    assert numeric_match("0.3", Fraction(3, 10))
    assert not numeric_match("0.30000001", Fraction(3, 10))


def test_long_input_is_cut_fast():
    assert parse_number("x" * 1_000_000 + "5") is None
    assert parse_number("7" + "x" * 1_000_000) == 7
