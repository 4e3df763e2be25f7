"""metrics.json: accuracy with a bootstrap interval per method, per-category accuracy, cost, and
paired comparisons (delta, paired bootstrap interval, exact McNemar p) against the best single model.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from scipy.stats import binomtest


def bootstrap_ci(values: np.ndarray, n_boot: int, seed: int) -> list[float]:
    """95% percentile interval of the mean (resampling problems)."""
    if len(values) == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    means = values[idx].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided exact McNemar p on paired correctness (binomial test on discordant pairs)."""
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def _method_summary(rows: list[dict[str, Any]], n_boot: int, seed: int) -> dict[str, Any]:
    correct = np.array([bool(r["correct"]) for r in rows])
    by_cat: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_cat[str(r.get("category"))].append(bool(r["correct"]))
    lo, hi = bootstrap_ci(correct.astype(float), n_boot, seed)
    return {
        "accuracy": 100.0 * float(correct.mean()) if len(rows) else float("nan"),
        "n": len(rows),
        "n_correct": int(correct.sum()),
        "ci95": [100.0 * lo, 100.0 * hi],
        "nfe_mean": float(np.mean([r["nfe"] for r in rows])) if rows else float("nan"),
        "wall_s": float(np.sum([r["wall_s"] for r in rows])),
        "wall_s_mean": float(np.mean([r["wall_s"] for r in rows])) if rows else float("nan"),
        "per_category": {
            c: {"accuracy": 100.0 * float(np.mean(v)), "n": len(v)}
            for c, v in sorted(by_cat.items())
        },
    }


def compute_metrics(
    rows: list[dict[str, Any]], methods: list[str], n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Per-method summaries plus paired comparisons against the best single model."""
    by_method: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        by_method[r["method"]][r["id"]] = r
    summaries = {m: _method_summary(list(by_method[m].values()), n_boot, seed) for m in methods}
    singles = [m for m in methods if m.startswith("single:")]
    out: dict[str, Any] = {"methods": summaries, "best_single": None, "comparisons": {}}
    if not singles:
        return out
    best = max(singles, key=lambda m: (summaries[m]["accuracy"], -methods.index(m)))
    out["best_single"] = best
    ids = sorted(by_method[best])
    base = np.array([bool(by_method[best][i]["correct"]) for i in ids])
    rng_seed = seed + 1
    for m in methods:
        if m == best:
            continue
        other = np.array([bool(by_method[m][i]["correct"]) for i in ids])
        diff = other.astype(float) - base.astype(float)
        lo, hi = bootstrap_ci(diff, n_boot, rng_seed)
        out["comparisons"][m] = {
            "vs": best,
            "delta": 100.0 * float(diff.mean()),
            "ci95": [100.0 * lo, 100.0 * hi],
            "mcnemar_p": mcnemar_exact(other, base),
            "wins": int(np.sum(other & ~base)),
            "losses": int(np.sum(~other & base)),
        }
    return out
