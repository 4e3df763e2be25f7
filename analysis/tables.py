"""Results tables in the layout of the paper's Tables 3, 4 and 6-10, from one run or a sweep.

Every method is compared with the best single model of its task on the same problems: accuracy
with a bootstrap CI, the paired difference with a paired-bootstrap CI, and the exact McNemar p
(all from `tie.stats`), recomputed from `predictions.jsonl` so sweeps and partial runs work alike.

Layouts (one Markdown, LaTeX and CSV file each):
* `table3_main` (or `table4_code` when every constituent is a code model): methods x tasks;
  a setting the sweep varies is part of the row name (`tie:tcc (interval=8)`), so no swept
  setting is dropped;
* `table6_interval`, `table7_acceleration`, `table8_normalise`, `table9_cross_model`,
  `table10_final_selection`: written when a sweep varies that setting; methods x (task, setting
  value); a method the setting does not act on (single models for the interval) is shown once
  per task, in every column of that task;
* `results_paired_table`: every (task, setting, method) with its intervals and tests.

MMLU* is derived from an MMLU run by subject (`analysis.rundir.with_derived`): its own column,
accuracy and best single model recomputed on the 35 subjects' problems. The interval of each
method is the one it ran at (`metrics.json`; tie:tcc at n = 32 beside top-1 at n = 16).

CLI: `python -m analysis.tables <run dir or sweep> [--out DIR]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.methods import method_rank
from analysis.output import fmt_p, write_table
from analysis.rundir import RunDir, load_runs, run_study, study_parser, with_derived


def _is_tie(method: str) -> bool:
    return method.startswith("tie:")


def _selects(method: str) -> bool:  # post and TIE pick a final candidate
    return method == "post" or _is_tie(method)


def _counts_changes(method: str) -> bool:  # the change count ranks candidates or relays
    return method in ("post", "tie:tcc")


def _logit_scored(method: str) -> bool:
    return method in ("tie:top1", "tie:entropy", "tie:margin")


@dataclass(frozen=True)
class Ablation:
    key: str  # dotted config path
    column: str  # column name in the results frame
    stem: str  # output file stem
    title: str
    show_nfe: bool = False
    # the methods the setting acts on; for the others the frame holds None (not applicable)
    applies: Callable[[str], bool] = lambda method: True


ABLATIONS = (
    Ablation(
        "ensemble.interval", "interval", "table6_interval", "Ensemble interval n", applies=_is_tie
    ),
    Ablation(
        "decoding.policy",
        "policy",
        "table7_acceleration",
        "Decoding acceleration (accuracy %, mean NFE in parentheses)",
        show_nfe=True,
    ),
    Ablation(
        "ensemble.options.normalise",
        "normalise",
        "table8_normalise",
        "Normalised token change count",
        applies=_counts_changes,
    ),
    Ablation(
        "ensemble.options.cross_model",
        "cross_model",
        "table9_cross_model",
        "Cross-model vs source-only scoring",
        applies=_logit_scored,
    ),
    Ablation(
        "ensemble.options.final_selection",
        "final_selection",
        "table10_final_selection",
        "Final response selection",
        applies=_selects,
    ),
)
SIGNIFICANT = 0.05


def _best_single(preds: pd.DataFrame) -> str | None:
    singles = [m for m in dict.fromkeys(preds["method"]) if m.startswith("single:")]
    if not singles:
        return None
    acc = preds[preds.method.isin(singles)].groupby("method", sort=False)["correct"].mean()
    return max(singles, key=lambda m: (acc[m], -singles.index(m)))


def _paired(a: pd.DataFrame, b: pd.DataFrame, n_boot: int, seed: int) -> dict[str, float]:
    """Compare method rows `a` with baseline rows `b` on their common problem ids."""
    from tie.stats import mcnemar_exact, paired_bootstrap

    merged = a[["id", "correct"]].merge(b[["id", "correct"]], on="id", suffixes=("", "_base"))
    if merged.empty:
        return {}
    x, y = merged["correct"].to_numpy(bool), merged["correct_base"].to_numpy(bool)
    diff, p_boot = paired_bootstrap(x, y, n_boot=n_boot, seed=seed)
    mc = mcnemar_exact(x, y)
    return {
        "n_paired": len(merged),
        "delta": 100 * diff.estimate,
        "delta_low": 100 * diff.low,
        "delta_high": 100 * diff.high,
        "p_bootstrap": p_boot,
        "wins": mc.b,
        "losses": mc.c,
        "mcnemar_p": mc.p_value,
    }


def results_frame(runs: list[RunDir], n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (run, method): settings, accuracy with CI, NFE, and the test vs best single.

    A run without single models (e.g. a TIE-only sweep job) is compared with the best single
    model found for the same task in another run of the sweep.
    """
    from tie.stats import bootstrap_ci

    runs = with_derived(runs)
    singles_by_task: dict[str, pd.DataFrame] = {}
    for run in runs:
        preds = run.predictions
        best = _best_single(preds)
        if best is not None and run.task not in singles_by_task:
            singles_by_task[run.task] = preds[preds.method == best].assign(best=best)
    rows = []
    for run in runs:
        preds = run.predictions
        best = _best_single(preds)
        base = (
            preds[preds.method == best].assign(best=best)
            if best is not None
            else singles_by_task.get(run.task)
        )
        models = run.cfg("models") or []
        for method, g in preds.groupby("method", sort=False):
            ci = bootstrap_ci(g["correct"].to_numpy(bool), n_boot=n_boot, seed=seed)
            row = {
                "run": run.label,
                "task": run.task,
                "models": "+".join(str(m) for m in models),
                **_settings(run, str(method)),
                "method": method,
                "n": len(g),
                "n_correct": int(g["correct"].sum()),
                "accuracy": 100 * ci.estimate,
                "acc_low": 100 * ci.low,
                "acc_high": 100 * ci.high,
                "nfe_mean": float(g["nfe"].mean()) if "nfe" in g else np.nan,
                "wall_s_mean": float(g["wall_s"].mean()) if "wall_s" in g else np.nan,
                "best_single": None if base is None else base["best"].iloc[0],
            }
            if base is not None and method != row["best_single"]:
                row.update(_paired(g, base, n_boot, seed))
            rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("delta", "delta_low", "delta_high", "mcnemar_p", "p_bootstrap"):
        if col not in frame:
            frame[col] = np.nan
    # integers with gaps (single models have no interval): "8", not "8.0", in every table
    frame["interval"] = pd.to_numeric(frame["interval"], errors="coerce").astype("Int64")
    return frame


def _settings(run: RunDir, method: str) -> dict[str, Any]:
    """Each ablation's value for `method` in `run` (None where the setting does not act on it)."""
    out = {}
    for ab in ABLATIONS:
        if not ab.applies(method):
            out[ab.column] = None
        elif ab.column == "interval":
            out[ab.column] = run.method_interval(method)
        else:
            out[ab.column] = run.cfg(ab.key)
    return out


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Setting values in natural order: numbers by value (8 before 16), then text."""
    try:
        return 0, float(value), ""
    except (TypeError, ValueError):
        return 1, 0.0, str(value)


def varying(frame: pd.DataFrame) -> list[Ablation]:
    """The settings a sweep varies: one method of one task ran at several values."""
    out = []
    for ab in ABLATIONS:
        if ab.column not in frame:
            continue
        values = frame[frame[ab.column].notna()]
        per_method = values.groupby(["task", "method"])[ab.column].apply(
            lambda s: s.astype(str).nunique()
        )
        if (per_method > 1).any():
            out.append(ab)
    return out


def _unique(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per (task, method, settings): a method the swept setting does not act on (the
    single models of an interval sweep) ran once per job with the same result; keep the first."""
    key = frame[[c for c in ("task", "models", "method", *columns) if c in frame]].astype(str)
    return frame[~key.duplicated()]


def _cell(row: pd.Series, show_nfe: bool = False) -> str:
    text = f"{row['accuracy']:.2f}"
    if pd.notna(row.get("mcnemar_p")) and row["mcnemar_p"] < SIGNIFICANT:
        text += "*"
    if show_nfe and pd.notna(row.get("nfe_mean")):
        text += f" ({row['nfe_mean']:.0f})"
    return text


def _pivot(
    frame: pd.DataFrame,
    columns: str,
    show_nfe: bool = False,
    col_order: list[str] | None = None,
) -> pd.DataFrame:
    """Rows = methods in the paper's order (a `method (setting=...)` row beside its method, in
    the order given), columns in `col_order` (default: order of appearance)."""
    data = frame.drop_duplicates(["method", columns])
    data = data.assign(cell=[_cell(r, show_nfe) for _, r in data.iterrows()])
    col_order = col_order or list(dict.fromkeys(data[columns]))
    table = data.pivot_table(
        index="method", columns=columns, values="cell", aggfunc="first", sort=False
    )
    table = table.reindex(sorted(table.index, key=lambda m: method_rank(m.split(" (")[0])))
    table = table[[c for c in col_order if c in table.columns]].reset_index()
    table.columns = [str(c) for c in table.columns]
    return table.fillna("—")


def main_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Tables 3/4: rows = methods, columns = tasks; `*` = McNemar p < 0.05 vs best single.

    Every swept setting stays: a method run at several values of a setting gets one row per
    value, named `method (setting=value, ...)`."""
    vary = [ab.column for ab in varying(frame)]
    data = _unique(frame, vary)
    tasks = list(dict.fromkeys(data["task"]))
    if vary:
        data = data.iloc[
            sorted(
                range(len(data)),
                key=lambda i: tuple(_sort_key(data.iloc[i][c]) for c in vary),
            )
        ]
        names = []
        for _, r in data.iterrows():
            given = [f"{c}={r[c]}" for c in vary if r[c] is not None and pd.notna(r[c])]
            names.append(f"{r['method']} ({', '.join(given)})" if given else r["method"])
        data = data.assign(method=names)
    return _pivot(data, "task", col_order=tasks)


def ablation_table(frame: pd.DataFrame, ab: Ablation) -> pd.DataFrame:
    """Tables 6-10: rows = methods, columns = the setting's values (per task if several).

    A method the setting does not act on (None) appears in every column of its task."""
    data = _unique(frame, [ab.column])
    parts = []
    for _task, g in data.groupby("task", sort=False):
        values = sorted(dict.fromkeys(g[ab.column].dropna()), key=_sort_key)
        fixed, na = g[g[ab.column].notna()], g[g[ab.column].isna()]
        expanded = [fixed] + [na.assign(**{ab.column: v}) for v in values]
        parts.append(pd.concat(expanded).assign(_task_order=len(parts)))
    data = pd.concat(parts)
    data = data.iloc[
        sorted(
            range(len(data)),
            key=lambda i: (data.iloc[i]["_task_order"], _sort_key(data.iloc[i][ab.column])),
        )
    ]
    data["setting"] = f"{ab.column}=" + data[ab.column].astype(str)
    if data["task"].nunique() > 1:
        data["setting"] = data["task"] + " · " + data["setting"]
    return _pivot(data, "setting", show_nfe=ab.show_nfe)


def paired_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every method with its accuracy CI, its paired difference CI and McNemar p vs best single."""
    vary = [ab.column for ab in varying(frame)]
    rows = []
    for _, r in _unique(frame, vary).iterrows():
        is_base = r["method"] == r["best_single"] and pd.isna(r["delta"])
        rows.append(
            {
                "task": r["task"],
                **{c: "—" if r[c] is None or pd.isna(r[c]) else r[c] for c in vary},
                "method": r["method"],
                "n": int(r["n"]),
                "accuracy [95% CI]": f"{r['accuracy']:.2f} [{r['acc_low']:.2f}, {r['acc_high']:.2f}]",
                "Δ vs best single [95% CI]": "(baseline)"
                if is_base or pd.isna(r["delta"])
                else f"{r['delta']:+.2f} [{r['delta_low']:+.2f}, {r['delta_high']:+.2f}]",
                "wins / losses": "—"
                if pd.isna(r.get("wins", np.nan))
                else f"{int(r['wins'])} / {int(r['losses'])}",
                "McNemar p": fmt_p(r["mcnemar_p"]),
                "NFE": f"{r['nfe_mean']:.1f}" if pd.notna(r["nfe_mean"]) else "—",
            }
        )
    table = pd.DataFrame(rows)
    tasks = list(dict.fromkeys(table["task"]))  # the sweep's task order (MMLU* after MMLU)
    order = sorted(
        range(len(table)),
        key=lambda i: (
            tasks.index(table.loc[i, "task"]),
            *(_sort_key(table.loc[i, c]) for c in vary),
            method_rank(table.loc[i, "method"]),
        ),
    )
    return table.loc[order].reset_index(drop=True)


def _is_code_pair(frame: pd.DataFrame) -> bool:
    models = [m for ms in frame["models"] for m in str(ms).split("+") if m]
    return bool(models) and all("coder" in m.lower() for m in models)


def run(root: str | Path, out: str | Path | None = None, n_boot: int = 2000) -> list[Path]:
    """Write every table the run (or sweep) supports; returns the files written."""
    runs = load_runs(root)
    out = Path(out) if out else Path(root) / "figures"
    frame = results_frame(runs, n_boot=n_boot)
    written = []
    vary = varying(frame)
    stem, title = (
        ("table4_code", "Code models: accuracy (%)")
        if _is_code_pair(frame)
        else ("table3_main", "Main results: accuracy (%)")
    )
    title += "; * = exact McNemar p < 0.05 against the best single model"
    written += write_table(main_table(frame), out / stem, title)
    for ab in vary:
        written += write_table(
            ablation_table(frame, ab),
            out / ab.stem,
            f"{ab.title}; * = exact McNemar p < 0.05 against the best single model",
        )
    written += write_table(
        paired_table(frame),
        out / "results_paired_table",
        "Accuracy (%) with bootstrap CI, paired difference vs the best single model "
        "(paired bootstrap CI) and exact McNemar p",
    )
    raw = out / "results_frame.csv"
    frame.to_csv(raw, index=False)
    written.append(raw)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    if args.n_boot < 1:
        parser.error("--n-boot must be >= 1")
    run_study(parser, lambda: run(args.run, args.out, n_boot=args.n_boot))


if __name__ == "__main__":
    main()
