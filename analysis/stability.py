"""Confidence stability study (the paper's Figure 1 and Table 1).

Correct and incorrect samples are told apart by how their answer-token predictions behave during
decoding: top-1 probability, entropy and margin over A(t) per step, and the token change count
C(T) over the whole decode. Uses the single-model methods by default (one model, one
correctness label per problem); signals come from `traces/steps.parquet`. C(T) is counted over
A(t), the paper's positions, whatever the run's relay counted (`change_positions`).

Every curve, bar and table row names the relay interval of its method (`interval 16`: steps per
round, never `n=16`, which reads like a sample size): single models and post have no rounds
(`no relay`); a sweep over the interval keeps one series per value. Sample sizes are said as
`<k> problems`.

CLI: `python -m analysis.stability <run dir or sweep> [--out DIR]`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.change_count import change_counts
from analysis.intervals import mean_ci, normal_band
from analysis.output import fmt_num, save_figure, write_table
from analysis.rundir import RunDir, RunDirError, load_runs, require_columns, run_study, study_parser

SIGNALS = {
    "mean_top1_prob": "top-1 probability",
    "mean_entropy": "entropy (nats)",
    "mean_margin": "margin (top-1 − top-2 prob.)",
}


def _outcome(correct: pd.Series) -> pd.Series:
    return correct.map({True: "correct", False: "incorrect"})


def select_methods(methods: list[str], wanted: list[str] | None = None) -> list[str]:
    """The single-model methods unless `wanted` is given; every method if there is no single."""
    if wanted:
        unknown = sorted(set(wanted) - set(methods))
        if unknown:
            raise RunDirError(f"method(s) {unknown} not in the run; available: {methods}")
        return list(wanted)
    singles = [m for m in methods if m.startswith("single:")]
    return singles or list(methods)


NO_RELAY = "no relay"


def interval_label(run: RunDir, method: str) -> str:
    """`interval <n>` for a method that relays (tie:*), `no relay` for the others."""
    if not method.startswith("tie:"):
        return NO_RELAY
    value = pd.to_numeric(pd.Series([run.method_interval(method)]), errors="coerce")[0]
    return "interval —" if pd.isna(value) else f"interval {value:g}"


def collect(runs: list[RunDir], methods: list[str] | None = None) -> pd.DataFrame:
    """steps.parquet rows of the chosen methods, tagged with `task`, `interval` (label) and the
    problem's `correct`.

    A sweep repeats the same single-model runs in every job; only the first copy of each
    (task, interval, method, id) is kept so nothing is counted twice.
    """
    frames = []
    for run in runs:
        if not run.has_trace("steps"):
            continue
        chosen = select_methods(run.methods, methods)
        steps = run.trace("steps")
        steps = steps[steps["method"].isin(chosen)]
        labels = run.predictions[["id", "method", "correct"]]
        steps = steps.merge(labels, on=["id", "method"], how="inner")
        steps.insert(0, "task", run.task)
        labels_by = {m: interval_label(run, m) for m in steps["method"].unique()}
        steps.insert(1, "interval", steps["method"].map(labels_by))
        frames.append(steps)
    if not frames:
        raise RunDirError("no run has traces/steps.parquet: the stability study needs step traces")
    data = pd.concat(frames, ignore_index=True)
    key = ["task", "interval", "method", "id"]
    first = data.drop_duplicates(key)[key]
    return data.merge(first.assign(_keep=True), on=key).drop(columns="_keep")


def _with_keys(steps: pd.DataFrame) -> pd.DataFrame:
    """`task` and `interval` columns, empty / `no relay` when hand-built steps lack them."""
    if "task" not in steps:
        steps = steps.assign(task="")
    if "interval" not in steps:
        steps = steps.assign(interval=NO_RELAY)
    return steps


def signal_curves(steps: pd.DataFrame) -> pd.DataFrame:
    """Mean of each signal per decoding step, correct vs incorrect, with 95% normal bands.

    `t` counts a model's steps from 0 across rounds, so curves align however steps were numbered.
    Steps with an empty A(t) (NaN signal) are left out of the mean.
    """
    require_columns(steps, ("id", "method", "model", "round", "step", "correct"), "steps")
    data = _with_keys(steps)
    data = data.sort_values(["id", "method", "model", "round", "step"], kind="stable").copy()
    data["t"] = data.groupby(["task", "interval", "id", "method", "model"]).cumcount()
    rows = []
    keys = ["task", "interval", "model", "correct", "t"]
    for signal in SIGNALS:
        if signal not in data:
            continue
        for (task, interval, model, correct, t), group in data.groupby(keys):
            mean, low, high, n = normal_band(group[signal].to_numpy())
            outcome = _outcome(pd.Series([correct]))[0]
            rows.append((task, interval, model, signal, outcome, t, mean, low, high, n))
    cols = ["task", "interval", "model", "signal", "outcome", "step", "mean", "ci_low", "ci_high"]
    cols += ["n"]
    return pd.DataFrame(rows, columns=cols)


def change_count_summary(
    steps: pd.DataFrame, n_resamples: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """C(T) per problem, then its mean with a 95% bootstrap CI per (task, model, outcome)."""
    steps = _with_keys(steps)
    counts = change_counts(
        steps, by=("task", "interval", "id", "method", "model"), positions="answer"
    )
    labels = steps[["task", "interval", "id", "method", "correct"]].drop_duplicates()
    counts = counts.merge(labels, on=["task", "interval", "id", "method"])
    rows = []
    for (task, interval, model, correct), group in counts.groupby(
        ["task", "interval", "model", "correct"]
    ):
        raw = mean_ci(group["tcc"].to_numpy(), n_resamples, seed=seed)
        norm = mean_ci(group["tcc_norm"].to_numpy(), n_resamples, seed=seed)
        outcome = "correct" if correct else "incorrect"
        rows.append((task, interval, model, outcome, len(group), *raw, *norm))
    cols = ["task", "interval", "model", "outcome", "n", "tcc", "tcc_low", "tcc_high"]
    cols += ["tcc_norm", "tcc_norm_low", "tcc_norm_high"]
    return pd.DataFrame(rows, columns=cols)


def _ci_cell(mean: float, low: float, high: float) -> str:
    if np.isnan(low):
        return fmt_num(mean)
    return f"{fmt_num(mean)} [{fmt_num(low)}, {fmt_num(high)}]"


def table1(summary: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 1 layout: per (task, model) C(T) correct vs incorrect, raw and normalised."""
    rows = []
    summary = _with_keys(summary)
    for (task, interval, model), group in summary.groupby(
        ["task", "interval", "model"], sort=False
    ):
        by = {r.outcome: r for r in group.itertuples()}
        c, w = by.get("correct"), by.get("incorrect")

        def cell(r, stem: str) -> str:
            if r is None:
                return "—"
            return _ci_cell(getattr(r, stem), getattr(r, f"{stem}_low"), getattr(r, f"{stem}_high"))

        ratio = w.tcc / c.tcc if c is not None and w is not None and c.tcc > 0 else float("nan")
        rows.append(
            {
                "task": task,
                "model": model,
                "interval": interval,
                "problems correct / incorrect": f"{c.n if c else 0} / {w.n if w else 0}",
                "C(T) correct": cell(c, "tcc"),
                "C(T) incorrect": cell(w, "tcc"),
                "ratio": fmt_num(ratio),
                "C(T)/|A| correct": cell(c, "tcc_norm"),
                "C(T)/|A| incorrect": cell(w, "tcc_norm"),
            }
        )
    return pd.DataFrame(rows)


COLOURS = {"correct": "tab:green", "incorrect": "tab:red"}


def _intervals_said(frame: pd.DataFrame) -> str:
    """What the figure's methods relayed at: `interval 16` (steps per round), or that the
    single models have no rounds."""
    values = sorted(set(frame["interval"]) - {NO_RELAY})
    if not values:
        return "none: single models decode alone (the interval n does not apply)"
    return ", ".join(values) + " (steps per round)"


def plot_signal_curves(curves: pd.DataFrame, path: str | Path) -> list[Path]:
    """Figure 1: one column per (task, model), one row per signal; bands are 95% intervals."""
    import matplotlib.pyplot as plt

    curves = _with_keys(curves)
    panels = list(dict.fromkeys(zip(curves["task"], curves["interval"], curves["model"])))
    signals = [s for s in SIGNALS if s in set(curves["signal"])]
    fig, axes = plt.subplots(
        len(signals),
        max(len(panels), 1),
        figsize=(4 * max(len(panels), 1), 2.8 * len(signals)),
        squeeze=False,
        sharex="col",
    )
    for j, (task, interval, model) in enumerate(panels):
        for i, signal in enumerate(signals):
            ax = axes[i][j]
            sub = curves[
                (curves.task == task)
                & (curves.interval == interval)
                & (curves.model == model)
                & (curves.signal == signal)
            ]
            for outcome, g in sub.groupby("outcome"):
                label = f"{outcome} ({int(g['n'].max())} problems)"
                ax.plot(g["step"], g["mean"], color=COLOURS[outcome], label=label)
                ax.fill_between(
                    g["step"], g["ci_low"], g["ci_high"], color=COLOURS[outcome], alpha=0.2
                )
            ax.set_ylabel(SIGNALS[signal])
            if i == 0:
                ax.set_title(" · ".join(x for x in (task, model, interval) if x))
            if i == len(signals) - 1:
                ax.set_xlabel("decoding step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(
        "Answer-token confidence over decoding, correct vs incorrect (mean, 95% CI); "
        f"relay {_intervals_said(curves)}"
    )
    return save_figure(fig, curves, path)


def plot_change_counts(summary: pd.DataFrame, path: str | Path) -> list[Path]:
    """Table 1 as bars: mean C(T) (raw and normalised) per model, correct vs incorrect, 95% CI."""
    import matplotlib.pyplot as plt

    summary = _with_keys(summary)
    groups = list(dict.fromkeys(zip(summary["task"], summary["interval"], summary["model"])))
    labels = [" · ".join(x for x in g if x) for g in groups]
    x = np.arange(len(groups))
    fig, axes = plt.subplots(1, 2, figsize=(max(6, 2.2 * len(groups)) * 1.6, 3.6))
    for ax, stem, ylabel in (
        (axes[0], "tcc", "token change count C(T) (tokens)"),
        (axes[1], "tcc_norm", "normalised C(T) (changes / |A(t)|)"),
    ):
        for k, outcome in enumerate(("correct", "incorrect")):
            sub = summary[summary.outcome == outcome].set_index(["task", "interval", "model"])
            sub = sub.reindex(groups)
            mean = sub[stem].to_numpy(dtype=float)
            err = np.vstack(
                [
                    mean - sub[f"{stem}_low"].to_numpy(float),
                    sub[f"{stem}_high"].to_numpy(float) - mean,
                ]
            )
            ax.bar(
                x + (k - 0.5) * 0.38,
                mean,
                0.38,
                yerr=np.nan_to_num(err),
                capsize=3,
                color=COLOURS[outcome],
                label=f"{outcome} ({int(sub['n'].fillna(0).sum())} problems)",
            )
        ax.set_xticks(x, labels, rotation=15)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
    fig.suptitle(
        "Token change count over the whole decode, correct vs incorrect (mean, 95% CI); "
        f"relay {_intervals_said(summary)}"
    )
    return save_figure(fig, summary, path)


def run(
    root: str | Path,
    out: str | Path | None = None,
    methods: list[str] | None = None,
    n_resamples: int = 2000,
) -> list[Path]:
    """Write `stability_signals.png`, `stability_change_count.png` and `stability_table.*`."""
    runs = load_runs(root)
    out = Path(out) if out else Path(root) / "figures"
    steps = collect(runs, methods)
    curves = signal_curves(steps)
    summary = change_count_summary(steps, n_resamples=n_resamples)
    written = plot_signal_curves(curves, out / "stability_signals.png")
    written += plot_change_counts(summary, out / "stability_change_count.png")
    written += write_table(
        table1(summary),
        out / "stability_table",
        "Token change count C(T), correct vs incorrect (mean [95% bootstrap CI])",
    )
    return written


def main(argv: list[str] | None = None) -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--methods", nargs="*", help="methods to study (default: single:*)")
    args = parser.parse_args(argv)
    run_study(parser, lambda: run(args.run, args.out, args.methods))


if __name__ == "__main__":
    main()
