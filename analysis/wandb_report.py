"""The paper's figures and tables of one run as W&B charts, images and tables (report material).

`tie.runs.tracking.WandbTracker` calls `log_report(run, run_dir)` after a run: every study of
`analysis.figures` writes its PNGs and the CSVs behind them into `<run>/figures/` (as
`make figures` does), then each figure is logged as an image, and the numbers behind it (read back
from those CSVs, not recomputed) as a W&B table with a native chart:

| key | from | chart |
|---|---|---|
| `accuracy/*` | `results_frame.csv` (tables) | bar of accuracy per method; table with 95% CIs |
| `stability/<signal>` | `stability_signals.csv` | correct vs incorrect mean per step, per model |
| `leader/progress` | `leader_timing.csv` (`analysis.leader`, Figure 3) | change rate over normalised progress |
| `leader/{table,share}` | `leader_table.csv`, `leader_share.csv` | tables (Table 5, lead share) |
| `injection/*` | `correction_rate.csv` (when the run has an injection trace) | correction rates |
| `rounds` | `traces/rounds.parquet` | per-round leader and scores of every model |
| `figures/<name>` | every PNG the studies wrote (and `accuracy.png` here) | image |

A study the run cannot support (no step traces, no TIE rounds, no injection) is reported in the
summary under `figures/skipped/<study>` instead of failing the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.figures import build_all
from analysis.output import save_figure
from analysis.rundir import RunDir

ROUND_COLUMNS = (
    "id",
    "method",
    "round",
    "model",
    "score_tcc",
    "score_top1",
    "score_entropy",
    "score_margin",
    "selecting",
    "leader",
    "tied",
    "tie_rule",
    "relayed",
    "bridge",
)
ACCURACY_COLUMNS = ("method", "n", "accuracy", "acc_low", "acc_high", "nfe_mean", "delta",
                    "delta_low", "delta_high", "mcnemar_p")  # fmt: skip


def plot_accuracy(frame: pd.DataFrame, path: Path) -> list[Path]:
    """Accuracy per method with its 95% bootstrap interval (from `results_frame.csv`)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(frame)), 3.8))
    x = np.arange(len(frame))
    acc = frame["accuracy"].to_numpy(float)
    err = np.vstack(
        [acc - frame["acc_low"].to_numpy(float), frame["acc_high"].to_numpy(float) - acc]
    )
    ax.bar(x, acc, yerr=np.nan_to_num(err), capsize=3, color="tab:blue")
    ax.set_xticks(x, frame["method"], rotation=20)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Accuracy per method (95% bootstrap CI)")
    return save_figure(fig, frame, path)


def _table(frame: pd.DataFrame, cap: int | None = None) -> Any:
    import wandb

    data = frame if cap is None else frame.head(cap)
    data = data.astype(object).where(pd.notna(data), None)
    return wandb.Table(dataframe=data.reset_index(drop=True))


def report_items(
    run_dir: str | Path, table_rows: int | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(W&B log payload, {study: why skipped}) for one run directory; writes `<run>/figures/`."""
    import wandb

    run_dir = Path(run_dir)
    out = run_dir / "figures"
    written, skipped = build_all(run_dir, out)
    items: dict[str, Any] = {}

    frame = pd.read_csv(out / "results_frame.csv")
    acc = frame[[c for c in ACCURACY_COLUMNS if c in frame.columns]]
    written += plot_accuracy(acc, out / "accuracy.png")
    items["accuracy/table"] = _table(acc)
    items["accuracy/chart"] = wandb.plot.bar(  # its data: accuracy/chart_table
        _table(acc), "method", "accuracy", title="Accuracy per method (%)"
    )

    curves_csv = out / "stability_signals.csv"
    if curves_csv.is_file():
        curves = pd.read_csv(curves_csv, keep_default_na=False, na_values=[""])
        items["stability/curves"] = _table(curves)
        for signal, sub in curves.groupby("signal", sort=False):
            steps = sorted(set(sub["step"]))
            keys, ys = [], []
            for (model, outcome), g in sub.groupby(["model", "outcome"], sort=True):
                series = g.set_index("step")["mean"].reindex(steps)
                keys.append(f"{model} {outcome}")
                ys.append([None if pd.isna(v) else float(v) for v in series])
            items[f"stability/{signal}"] = wandb.plot.line_series(
                xs=steps, ys=ys, keys=keys, title=f"{signal}: correct vs incorrect", xname="step"
            )
    stab_table = out / "stability_table.csv"
    if stab_table.is_file():
        items["stability/change_count_table"] = _table(pd.read_csv(stab_table))

    run = RunDir(run_dir)
    if run.has_trace("rounds") and not run.trace("rounds").empty:
        rounds = run.trace("rounds")
        # Figure 3 as the leader study drew it (`leader_timing.png`, logged with every PNG
        # below) and the numbers behind it, one series per (task, interval, method) label
        timing_csv = out / "leader_timing.csv"
        timing = pd.read_csv(timing_csv) if timing_csv.is_file() else pd.DataFrame()
        if timing.empty:
            skipped.setdefault(
                "leader_progress", "no relays: no TIE problem ran more than one round"
            )
        else:
            xs = sorted(set(timing["progress"]))
            items["leader/progress_rates"] = _table(timing)
            items["leader/progress"] = wandb.plot.line_series(
                xs=xs,
                ys=[
                    g.set_index("progress")["change_rate"]
                    .reindex(xs)
                    .astype(object)
                    .where(lambda s: pd.notna(s), None)
                    .tolist()
                    for _, g in timing.groupby("label", sort=False)
                ],
                keys=list(dict.fromkeys(timing["label"].astype(str))),
                title="Leader change rate over normalised decoding progress (%)",
                xname="progress",
            )
        for name in ("leader_table", "leader_share"):
            if (out / f"{name}.csv").is_file():
                items[f"leader/{name.removeprefix('leader_')}"] = _table(
                    pd.read_csv(out / f"{name}.csv")
                )
        cols = [c for c in ROUND_COLUMNS if c in rounds.columns]
        items["rounds"] = _table(rounds[cols], table_rows)

    corr_csv = out / "correction_rate.csv"
    if corr_csv.is_file():
        rates = pd.read_csv(corr_csv)
        rates["label"] = [f"{d} r={r:g}" for d, r in zip(rates["direction"], rates["ratio"])]
        items["injection/correction_table"] = _table(rates)
        items["injection/correction_rate"] = wandb.plot.bar(
            _table(rates), "label", "correction_rate", title="Correction rate by injection (%)"
        )

    for path in written:
        if path.suffix == ".png":
            items[f"figures/{path.stem}"] = wandb.Image(str(path), caption=path.stem)
    return items, skipped


def log_report(run: Any, run_dir: str | Path, table_rows: int | None = None) -> dict[str, str]:
    """Log every report item of `run_dir` into the W&B `run`; returns the skipped studies."""
    items, skipped = report_items(run_dir, table_rows)
    run.log(items)
    for study, why in skipped.items():
        run.summary[f"figures/skipped/{study}"] = why
    return skipped


__all__ = ["log_report", "plot_accuracy", "report_items"]
