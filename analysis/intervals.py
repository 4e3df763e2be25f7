"""Intervals for real-valued means (change counts, signals).

Accuracies and paired comparisons come from `tie.stats` (binary outcomes only); a change count
is a real-valued per-problem quantity, so its interval is scipy's percentile bootstrap of the mean.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sps


def mean_ci(
    values: np.ndarray | list[float], n_resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap over problems; NaN bounds below two values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2 or np.all(x == x[0]):
        return (mean, mean, mean) if x.size >= 2 else (mean, math.nan, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sps.bootstrap(
            (x,),
            np.mean,
            n_resamples=n_resamples,
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    return mean, float(res.confidence_interval.low), float(res.confidence_interval.high)


def normal_band(values: np.ndarray) -> tuple[float, float, float, int]:
    """(mean, low, high, n) with mean +- 1.96 standard errors: cheap bands for per-step curves."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    half = 1.96 * float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else 0.0
    return mean, mean - half, mean + half, int(x.size)
