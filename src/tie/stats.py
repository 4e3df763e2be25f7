"""Paired statistics for comparing methods evaluated on the same problems.

The paper reports single greedy runs; we attach a bootstrap confidence interval to every
accuracy and a paired test (paired bootstrap of the difference, exact McNemar) to every
comparison, because two methods scored on the same problems are strongly correlated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided percentile confidence interval."""

    estimate: float
    low: float
    high: float
    level: float


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test on paired binary outcomes: b = only A right, c = only B right."""

    b: int
    c: int
    p_value: float


def _as_binary(values: Sequence[bool] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold booleans or 0/1 values")
    return arr.astype(np.float64)


def _check_level(level: float, n_boot: int) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")


def _percentile(estimate: float, draws: np.ndarray, level: float) -> Interval:
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return Interval(float(estimate), float(low), float(high), level)


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap CI of the mean (accuracy) of one method's per-problem outcomes."""
    x = _as_binary(correct, "correct")
    _check_level(level, n_boot)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    return _percentile(x.mean(), x[idx].mean(axis=1), level)


def paired_bootstrap(
    correct_a: Sequence[bool] | np.ndarray,
    correct_b: Sequence[bool] | np.ndarray,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[Interval, float]:
    """CI of accuracy(A) - accuracy(B), resampling problems jointly, and a two-sided p-value.

    The p-value is twice the smaller share of bootstrap differences on either side of zero
    (capped at 1), the usual paired-bootstrap sign test.
    """
    a = _as_binary(correct_a, "correct_a")
    b = _as_binary(correct_b, "correct_b")
    if a.size != b.size:
        raise ValueError(f"paired outcomes differ in length: {a.size} vs {b.size}")
    _check_level(level, n_boot)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    diffs = a[idx].mean(axis=1) - b[idx].mean(axis=1)
    p = min(1.0, 2.0 * min((diffs <= 0).mean(), (diffs >= 0).mean()))
    return _percentile(a.mean() - b.mean(), diffs, level), float(p)


def mcnemar_exact(
    correct_a: Sequence[bool] | np.ndarray, correct_b: Sequence[bool] | np.ndarray
) -> McNemarResult:
    """Exact (binomial) McNemar test on the discordant pairs; p = 1 when there are none."""
    a = _as_binary(correct_a, "correct_a").astype(bool)
    b = _as_binary(correct_b, "correct_b").astype(bool)
    if a.size != b.size:
        raise ValueError(f"paired outcomes differ in length: {a.size} vs {b.size}")
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    n = only_a + only_b
    p = 1.0 if n == 0 else float(sps.binomtest(only_a, n, 0.5).pvalue)
    return McNemarResult(only_a, only_b, min(1.0, p))
