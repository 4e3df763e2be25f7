"""Leader switch study (the paper's Table 5 and Figure 3).

Each TIE round relays every model to the round's leader. The leader change rate is the share of
relays whose leader differs from the previous round's (a problem with R rounds has R - 1
relays), pooled over problems, per scoring function and task; the timing view shows at which
round the changes happen (the paper finds them early in decoding). Reads `traces/rounds.parquet`.

CLI: `python -m analysis.leader <run dir or sweep> [--out DIR]`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.methods import method_rank
from analysis.output import save_figure, write_table
from analysis.rundir import RunDir, RunDirError, load_runs, require_columns, run_study, study_parser

GROUP = ["task", "interval", "method"]


def leader_sequences(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per (problem, method, round) with the round's leader, in round order.

    Every model row of a round must name the same leader; a disagreement is a broken trace.
    """
    require_columns(rounds, ("id", "method", "round", "leader"), "rounds.parquet")
    data = rounds.copy()
    for col, value in (("task", ""), ("interval", np.nan)):
        if col not in data:
            data[col] = value
    keys = [*GROUP, "id", "round"]
    n_leaders = data.groupby(keys, dropna=False)["leader"].nunique()
    if (n_leaders > 1).any():
        bad = n_leaders[n_leaders > 1].index[0]
        raise RunDirError(f"rounds.parquet: several leaders logged for {dict(zip(keys, bad))}")
    seq = data.drop_duplicates(keys).sort_values(keys, kind="stable")
    return seq[[*keys, "leader"]].reset_index(drop=True)


def leader_changes(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per relay (round r >= 1): `changed` = leader(r) != leader(r - 1).

    `n_rounds` and `progress` (r / (n_rounds - 1), in [0, 1]) place it within the decode.
    """
    seq = leader_sequences(rounds)
    problem = [*GROUP, "id"]
    seq["previous"] = seq.groupby(problem, dropna=False)["leader"].shift(1)
    seq["n_rounds"] = seq.groupby(problem, dropna=False)["round"].transform("size")
    relays = seq[seq["previous"].notna()].copy()
    relays["changed"] = relays["leader"] != relays["previous"]
    pos = relays.groupby(problem, dropna=False).cumcount() + 1
    relays["progress"] = pos / (relays["n_rounds"] - 1)
    return relays.reset_index(drop=True)


def change_rate(rounds: pd.DataFrame) -> pd.DataFrame:
    """Leader change rate (%) per (task, interval, method): changes / relays, pooled."""
    relays = leader_changes(rounds)
    grouped = relays.groupby(GROUP, dropna=False, sort=False)
    out = pd.DataFrame(
        {
            "n_problems": grouped["id"].nunique(),
            "n_relays": grouped["changed"].size(),
            "n_changes": grouped["changed"].sum().astype(int),
        }
    ).reset_index()
    out["change_rate"] = 100.0 * out["n_changes"] / out["n_relays"]
    return out


def change_timing(rounds: pd.DataFrame) -> pd.DataFrame:
    """Leader change rate (%) at each round index: when in decoding the changes happen."""
    relays = leader_changes(rounds)
    grouped = relays.groupby([*GROUP, "round"], dropna=False, sort=True)
    out = pd.DataFrame(
        {"n_relays": grouped["changed"].size(), "n_changes": grouped["changed"].sum().astype(int)}
    ).reset_index()
    out["change_rate"] = 100.0 * out["n_changes"] / out["n_relays"]
    return out


def lead_share(rounds: pd.DataFrame) -> pd.DataFrame:
    """Share (%) of rounds each model led, per (task, interval, method)."""
    seq = leader_sequences(rounds)
    counts = seq.groupby([*GROUP, "leader"], dropna=False).size().rename("rounds_led")
    total = counts.groupby(level=[0, 1, 2], dropna=False).transform("sum")
    return (100.0 * counts / total).rename("lead_share").reset_index()


def collect(runs: list[RunDir]) -> pd.DataFrame:
    """rounds.parquet of every run, tagged with `task` and the ensemble `interval`."""
    frames = []
    for run in runs:
        if not run.has_trace("rounds"):
            continue
        rounds = run.trace("rounds").copy()
        rounds["task"] = run.task
        rounds["interval"] = run.cfg("ensemble.interval", np.nan)
        frames.append(rounds)
    if not frames:
        raise RunDirError("no run has traces/rounds.parquet: the leader study needs TIE rounds")
    data = pd.concat(frames, ignore_index=True)
    if data.empty:
        raise RunDirError("rounds.parquet is empty: no TIE method was run")
    return data


def _label(frame: pd.DataFrame) -> pd.Series:
    """Series names: the method, plus task / interval only where they vary."""
    label = frame["method"].astype(str)
    if frame["task"].nunique() > 1:
        label = frame["task"].astype(str) + " · " + label
    if frame["interval"].nunique(dropna=False) > 1:
        label = label + " (n=" + frame["interval"].astype(str) + ")"
    return label


def table5(rates: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 5 layout: rows = scoring (method [, interval]), columns = tasks."""
    data = rates.copy()
    data["cell"] = [
        f"{r:.1f} ({c}/{n})"
        for r, c, n in zip(data["change_rate"], data["n_changes"], data["n_relays"])
    ]
    interval = pd.to_numeric(data["interval"], errors="coerce").fillna(np.inf).to_numpy()
    methods = data["method"].astype(str).to_numpy()
    order = sorted(range(len(data)), key=lambda i: (interval[i], method_rank(methods[i])))
    data = data.iloc[order]
    data["row"] = data["method"].astype(str)
    if data["interval"].nunique(dropna=False) > 1:
        data["row"] = data["row"] + " (n=" + data["interval"].astype(str) + ")"
    table = data.pivot_table(
        index="row", columns="task", values="cell", aggfunc="first", sort=False
    )
    table = table.reset_index().rename(columns={"row": "scoring"})
    table.columns.name = None
    return table.fillna("—")


def plot_change_rate(rates: pd.DataFrame, path: str | Path) -> list[Path]:
    import matplotlib.pyplot as plt

    data = rates.assign(label=_label(rates))
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(data)), 3.6))
    bars = ax.bar(data["label"], data["change_rate"], color="tab:blue")
    for bar, c, n in zip(bars, data["n_changes"], data["n_relays"]):
        ax.annotate(
            f"{c}/{n}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel("leader change rate (% of relays)")
    ax.set_xlabel("TIE scoring function")
    ax.set_ylim(0, max(100.0, float(data["change_rate"].max()) * 1.1))
    ax.tick_params(axis="x", rotation=15)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Leader change rate per scoring function")
    return save_figure(fig, data, path)


def plot_change_timing(timing: pd.DataFrame, path: str | Path) -> list[Path]:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    data = timing.assign(label=_label(timing))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for label, g in data.groupby("label", sort=False):
        ax.plot(g["round"], g["change_rate"], marker="o", label=label)
    ax.set_xlabel("round (relay after round r−1 → r; each round = n decoding steps)")
    ax.set_ylabel("leader change rate (% of relays)")
    ax.set_ylim(-2, 102)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("When in decoding the leader changes")
    return save_figure(fig, data, path)


def run(root: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write `leader_change_rate.png`, `leader_timing.png`, `leader_share.csv`, `leader_table.*`."""
    runs = load_runs(root)
    out = Path(out) if out else Path(root) / "figures"
    rounds = collect(runs)
    rates = change_rate(rounds)
    written = plot_change_rate(rates, out / "leader_change_rate.png")
    written += plot_change_timing(change_timing(rounds), out / "leader_timing.png")
    share = out / "leader_share.csv"
    lead_share(rounds).to_csv(share, index=False)
    written.append(share)
    written += write_table(
        table5(rates),
        out / "leader_table",
        "Leader change rate (% of relays whose leader differs from the previous round's)",
    )
    return written


def main(argv: list[str] | None = None) -> None:
    parser = study_parser(__doc__)
    args = parser.parse_args(argv)
    run_study(parser, lambda: run(args.run, args.out))


if __name__ == "__main__":
    main()
