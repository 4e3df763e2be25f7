import numpy as np
import pytest

from tie.stats import bootstrap_ci, mcnemar_exact, paired_bootstrap


def test_bootstrap_ci_brackets_mean_and_narrows_with_n():
    small = bootstrap_ci([1, 0] * 10, n_boot=2000, seed=1)
    large = bootstrap_ci([1, 0] * 500, n_boot=2000, seed=1)
    assert small.estimate == pytest.approx(0.5)
    assert small.low < 0.5 < small.high
    assert (large.high - large.low) < (small.high - small.low)


def test_bootstrap_constant_outcomes_have_zero_width():
    ci = bootstrap_ci([True] * 7, n_boot=100)
    assert (ci.low, ci.estimate, ci.high) == (1.0, 1.0, 1.0)


def test_paired_bootstrap_detects_clear_difference():
    a = np.array([1] * 80 + [0] * 20, dtype=bool)
    b = a.copy()
    b[:40] = False  # B loses 40 problems A solves
    ci, p = paired_bootstrap(a, b, n_boot=2000, seed=0)
    assert ci.estimate == pytest.approx(0.4)
    assert ci.low > 0
    assert p < 0.01
    ci_same, p_same = paired_bootstrap(a, a, n_boot=500)
    assert ci_same.estimate == 0.0 and p_same == 1.0


def test_mcnemar_exact_matches_binomial():
    a = [1, 1, 1, 1, 1, 0, 0, 1]
    b = [0, 0, 0, 0, 0, 0, 1, 1]
    res = mcnemar_exact(a, b)
    assert (res.b, res.c) == (5, 1)
    # two-sided exact binomial with n=6, k=5: 2 * (C(6,5)+C(6,6)) / 64 = 14/64
    assert res.p_value == pytest.approx(14 / 64)
    assert mcnemar_exact([1, 0], [1, 0]).p_value == 1.0


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="length"):
        mcnemar_exact([1, 0], [1])
    with pytest.raises(ValueError, match="0/1"):
        bootstrap_ci([0.5, 1.0])
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap([1], [1], level=1.5)
