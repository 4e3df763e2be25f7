"""The safe Countdown checker (`tie.tasks.countdown.verify`)."""

import time

import pytest

from tie.tasks.countdown import verify

NUMS = [30, 100, 93]


@pytest.mark.parametrize(
    ("expr", "ok"),
    [
        ("(30+93)-100", True),
        ("30 - (100 - 93)", True),
        ("30 + 93 - 100 = 23", True),
        ("30 + 93 - 100 = 24", False),
        ("30 \\times 1 + 93 - 100", False),
        ("100 - 93 + 30", False),
        ("30*1+93-100", False),
        ("100-77", False),
        ("3 0+93-100", False),
        ("100//93+30", False),
        ("-30+93-100+60", False),
        ("30.0+93-100", False),
        ("30+93-100+0", False),
        ("0x1E+93-100", False),
        ("3_0+93-100", False),
        ("__import__('os')", False),
        ("", False),
        (None, False),
        ("30 + 93 - 100.", True),
        ("$30 + 93 - 100$", True),
    ],
)
def test_cd3_example(expr, ok):
    assert verify(expr, NUMS, 23) is ok


def test_duplicates_and_latex_operators():
    assert verify("9+9-9", [9, 9, 9], 9)
    assert not verify("9+9", [9, 9, 9], 18)
    assert verify("8 \\div (4+4)", [4, 4, 8], 1)
    assert verify("(4 \\times 4) - 8", [4, 4, 8], 8)
    assert verify("4 \u00d7 4 \u2212 8", [4, 4, 8], 8)


def test_division_by_zero_is_wrong_not_crash():
    assert verify("8/(4+4)", [4, 4, 8], 1)
    assert not verify("8/(4-4)", [4, 4, 8], 1)


def test_exact_rational_arithmetic():
    assert verify("6/(3/4)", [3, 4, 6], 8)
    assert verify("1/3*3", [1, 3, 3], 1)  # exactly 1 with Fractions, no float rounding
    assert not verify("(1/3)*3 - 0", [0, 1, 3, 3], 2)


def test_pathological_inputs_are_fast():
    start = time.perf_counter()
    assert not verify("9**9**9", [9, 9, 9], 9)
    assert not verify("1+" * 5000 + "1", [1, 1], 2)
    assert not verify("(" * 300 + "1" + ")" * 300, [1], 1)
    assert not verify("(" * 90 + "1" + ")" * 90, [2], 1)
    assert not verify("9" * 100 + "*" + "9" * 99, ["9" * 100, "9" * 99], 1)
    assert time.perf_counter() - start < 0.5


def test_intermediate_values_are_bounded(monkeypatch):
    import tie.tasks.countdown as cd

    assert verify("99*99*99", [99, 99, 99], 970299)
    monkeypatch.setattr(cd, "MAX_VALUE_BITS", 12)
    assert not verify("99*99*99", [99, 99, 99], 970299)
    huge = "9" * 150
    assert not verify(f"{huge}*{huge}", [int(huge), int(huge)], 1)


def test_string_numbers_and_target_are_coerced():
    assert verify("30+93-100", ["30", "100", "93"], "23")


@pytest.mark.parametrize(
    ("numbers", "target"),
    [([1.5, 2], 3), ([1, 2], "x"), ([], 3), ([True, 2], 3), ([1] * 13, 13)],
)
def test_bad_task_data_raises(numbers, target):
    with pytest.raises(ValueError):
        verify("1+2", numbers, target)
