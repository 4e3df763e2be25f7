"""Injection / correction study (the paper's Table 2).

An injection-mode run decodes model A (source) to completion, then starts model B (target) from
A's state after a fraction r of A's decode and lets B finish. The correction rate for a
(direction, r) is the share of problems where A was right and B alone was wrong that B gets
right when started from A's state. Reads `traces/injection.parquet`: one row per (`id`,
`source`, `target`, `ratio`) with `source_correct`, `target_correct`, `injected_correct`.

CLI: `python -m analysis.correction <run dir or sweep> [--out DIR]`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.output import save_figure, write_table
from analysis.rundir import RunDir, RunDirError, load_runs, require_columns, run_study, study_parser

TRACE = "injection"
COLUMNS = (
    "id",
    "source",
    "target",
    "ratio",
    "source_correct",
    "target_correct",
    "injected_correct",
)


def correction_rates(injection: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (task, source, target, ratio): eligible problems, corrected, rate (%) with 95% CI.

    Also reports `broken`: problems B got right alone but wrong after the injection.
    """
    from tie.stats import bootstrap_ci

    require_columns(injection, COLUMNS, "injection.parquet")
    data = injection.copy()
    if "task" not in data:
        data["task"] = ""
    for col in ("source_correct", "target_correct", "injected_correct"):
        data[col] = data[col].astype(bool)
    rows = []
    for (task, source, target, ratio), g in data.groupby(
        ["task", "source", "target", "ratio"], sort=True
    ):
        eligible = g[g["source_correct"] & ~g["target_correct"]]
        fixed = eligible["injected_correct"].to_numpy()
        if len(fixed):
            ci = bootstrap_ci(fixed, n_boot=n_boot, seed=seed)
            rate, low, high = 100 * ci.estimate, 100 * ci.low, 100 * ci.high
        else:
            rate = low = high = float("nan")
        solo_right = g[g["target_correct"]]
        rows.append(
            {
                "task": task,
                "source": source,
                "target": target,
                "ratio": float(ratio),
                "n_problems": len(g),
                "n_eligible": len(eligible),
                "n_corrected": int(fixed.sum()),
                "correction_rate": rate,
                "ci_low": low,
                "ci_high": high,
                "n_broken": int((~solo_right["injected_correct"]).sum()),
                "n_target_right": len(solo_right),
            }
        )
    return pd.DataFrame(rows)


def table2(rates: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 2 layout: rows = (task,) direction source -> target, columns = ratio."""
    data = rates.copy()
    data["direction"] = data["source"] + " → " + data["target"]
    if data["task"].nunique() > 1:
        data["direction"] = data["task"] + " · " + data["direction"]
    data["column"] = [f"r = {r:.0%}" for r in data["ratio"]]
    data["cell"] = [
        "—" if n == 0 else f"{rate:.1f} [{lo:.1f}, {hi:.1f}] ({k}/{n})"
        for rate, lo, hi, k, n in zip(
            data["correction_rate"],
            data["ci_low"],
            data["ci_high"],
            data["n_corrected"],
            data["n_eligible"],
        )
    ]
    table = data.pivot_table(
        index="direction", columns="column", values="cell", aggfunc="first", sort=False
    )
    table = table.reset_index()
    table.columns.name = None
    return table.fillna("—")


def plot_rates(rates: pd.DataFrame, path: str | Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np

    data = rates.copy()
    data["direction"] = data["source"] + " → " + data["target"]
    if data["task"].nunique() > 1:
        data["direction"] = data["task"] + " · " + data["direction"]
    directions = list(dict.fromkeys(data["direction"]))
    ratios = sorted(set(data["ratio"]))
    x = np.arange(len(directions))
    width = 0.8 / max(len(ratios), 1)
    fig, ax = plt.subplots(figsize=(max(6, 2.4 * len(directions)), 4.0))
    for k, ratio in enumerate(ratios):
        sub = data[data.ratio == ratio].set_index("direction").reindex(directions)
        mean = sub["correction_rate"].to_numpy(float)
        err = np.vstack(
            [mean - sub["ci_low"].to_numpy(float), sub["ci_high"].to_numpy(float) - mean]
        )
        ax.bar(
            x + (k - (len(ratios) - 1) / 2) * width,
            mean,
            width,
            yerr=np.nan_to_num(err),
            capsize=3,
            label=f"r = {ratio:.0%}",
        )
    ax.set_xticks(x, directions)
    ax.set_xlabel("direction (source → target)")
    ax.set_ylabel("correction rate (%)")
    ax.set_ylim(0, 135)
    ax.set_yticks(range(0, 101, 20))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        fontsize=8,
        loc="upper right",
        ncol=len(ratios),
        title="share of the source's decode injected",
        title_fontsize=8,
    )
    ax.set_title(
        "Correction by trajectory injection\n"
        "(target right, among source-right / target-wrong; 95% CI)",
        fontsize=10,
    )
    return save_figure(fig, data, path)


def collect(runs: list[RunDir]) -> pd.DataFrame:
    frames = []
    for run in runs:
        if run.has_trace(TRACE):
            frames.append(run.trace(TRACE).assign(task=run.task))
    if not frames:
        raise RunDirError(f"no run has traces/{TRACE}.parquet: run tie-run in injection mode")
    return pd.concat(frames, ignore_index=True)


def run(root: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write `correction_rate.png` and `correction_table.*`."""
    out = Path(out) if out else Path(root) / "figures"
    rates = correction_rates(collect(load_runs(root)))
    written = plot_rates(rates, out / "correction_rate.png")
    written += write_table(
        table2(rates),
        out / "correction_table",
        "Correction rate (%) when the target starts from the source's partial trajectory",
    )
    return written


def main(argv: list[str] | None = None) -> None:
    parser = study_parser(__doc__)
    args = parser.parse_args(argv)
    run_study(parser, lambda: run(args.run, args.out))


if __name__ == "__main__":
    main()
