"""metrics.json: accuracy with a bootstrap interval per method, per-category accuracy, cost, and
paired comparisons (delta, paired bootstrap interval, exact McNemar p) against the best single model.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from tie.stats import bootstrap_ci, mcnemar_exact, paired_bootstrap


def _method_summary(rows: list[dict[str, Any]], n_boot: int, seed: int) -> dict[str, Any]:
    correct = np.array([bool(r["correct"]) for r in rows])
    by_cat: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_cat[str(r.get("category"))].append(bool(r["correct"]))
    ci = bootstrap_ci(correct, n_boot=n_boot, seed=seed) if len(rows) else None
    return {
        "accuracy": 100.0 * float(correct.mean()) if len(rows) else float("nan"),
        "n": len(rows),
        "n_correct": int(correct.sum()),
        "ci95": [100.0 * ci.low, 100.0 * ci.high] if ci else [float("nan")] * 2,
        "nfe_mean": float(np.mean([r["nfe"] for r in rows])) if rows else float("nan"),
        "wall_s": float(np.sum([r["wall_s"] for r in rows])),
        "wall_s_mean": float(np.mean([r["wall_s"] for r in rows])) if rows else float("nan"),
        # problems that left TIE's relay cycle on the step budget (lossy cross-tokenizer relays)
        "budget_exits": sum(bool(r.get("budget_exit")) for r in rows),
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
        delta, boot_p = paired_bootstrap(other, base, n_boot=n_boot, seed=rng_seed)
        out["comparisons"][m] = {
            "vs": best,
            "delta": 100.0 * delta.estimate,
            "ci95": [100.0 * delta.low, 100.0 * delta.high],
            "bootstrap_p": boot_p,
            "mcnemar_p": mcnemar_exact(other, base).p_value,
            "wins": int(np.sum(other & ~base)),
            "losses": int(np.sum(~other & base)),
        }
    return out


def injection_metrics(
    records: list[dict[str, Any]], n_boot: int = 2000, seed: int = 0
) -> dict[str, dict[str, dict[str, Any]]]:
    """`<source>-><target>` -> `<ratio>` -> correction rate (%): among problems where the source
    was right and the target alone wrong, the share the target gets right when started from the
    source's state (as analysis.correction computes it); `n_broken`: target right alone, wrong
    after the injection."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["source"], r["target"], float(r["ratio"]))].append(r)
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (source, target, ratio), rows in groups.items():
        eligible = [r for r in rows if r["source_correct"] and not r["target_correct"]]
        fixed = np.array([bool(r["injected_correct"]) for r in eligible])
        ci = bootstrap_ci(fixed, n_boot=n_boot, seed=seed) if len(fixed) else None
        solo_right = [r for r in rows if r["target_correct"]]
        out[f"{source}->{target}"][f"{ratio:g}"] = {
            "correction_rate": 100.0 * ci.estimate if ci else float("nan"),
            "ci95": [100.0 * ci.low, 100.0 * ci.high] if ci else [float("nan")] * 2,
            "n_problems": len(rows),
            "n_eligible": len(eligible),
            "n_corrected": int(fixed.sum()),
            "n_broken": sum(not r["injected_correct"] for r in solo_right),
            "n_target_right": len(solo_right),
            "source_accuracy": 100.0 * float(np.mean([r["source_correct"] for r in rows])),
            "target_accuracy": 100.0 * float(np.mean([r["target_correct"] for r in rows])),
            "injected_accuracy": 100.0 * float(np.mean([r["injected_correct"] for r in rows])),
            "nfe_mean": float(np.mean([r["nfe"] for r in rows])) if "nfe" in rows[0] else None,
        }
    return dict(out)
