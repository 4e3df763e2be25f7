"""Leader switch study (the paper's Table 5 and Figure 3).

Each TIE round relays every model to the round's leader. The leader change rate is the share of
relays whose leader differs from the previous round's (a problem with R rounds has R - 1
relays), pooled over problems, per scoring function and task. Figure 3 places each relay at its
normalised decoding progress (the share of the problem's rounds done when it happens, so runs at
n = 8 and n = 32 line up by how far decoding is, not by round index) and plots, per progress
bin, the share of all leader changes that fall there and the change rate of the relays there (the
paper finds the changes early in decoding). The interval of each method is the one it ran at
(tie:tcc at n = 32 beside top-1 at n = 16 in one run). Reads `traces/rounds.parquet`.

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

    `n_rounds` and `progress` place it within the decode: the relay before round r (0-based)
    happens once r of the problem's n_rounds rounds are done, so progress = r / n_rounds, in
    (0, 1).
    """
    seq = leader_sequences(rounds)
    problem = [*GROUP, "id"]
    seq["previous"] = seq.groupby(problem, dropna=False)["leader"].shift(1)
    seq["n_rounds"] = seq.groupby(problem, dropna=False)["round"].transform("size")
    relays = seq[seq["previous"].notna()].copy()
    relays["changed"] = relays["leader"] != relays["previous"]
    pos = relays.groupby(problem, dropna=False).cumcount() + 1
    relays["progress"] = pos / relays["n_rounds"]
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


def change_progress(rounds: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Figure 3: per (task, interval, method) and bin of normalised decoding progress, the share
    (%) of that series' leader changes falling in the bin and the change rate (%) of its relays.

    Bin b covers progress in ((b - 1) / bins, b / bins]; `progress` is the bin's centre."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    relays = leader_changes(rounds)
    # tolerance: progress 3/5 lands in bin 6 even where 0.6 * 10 rounds above 6
    relays["bin"] = np.clip(np.ceil(relays["progress"] * bins - 1e-9).astype(int), 1, bins)
    grouped = relays.groupby([*GROUP, "bin"], dropna=False, sort=True)
    out = pd.DataFrame(
        {"n_relays": grouped["changed"].size(), "n_changes": grouped["changed"].sum().astype(int)}
    ).reset_index()
    out["progress"] = (out["bin"] - 0.5) / bins
    total = out.groupby(GROUP, dropna=False)["n_changes"].transform("sum")
    out["change_share"] = np.where(total > 0, 100.0 * out["n_changes"] / total.clip(lower=1), 0.0)
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
        intervals = {m: run.method_interval(m) for m in rounds["method"].unique()}
        rounds["interval"] = rounds["method"].map(intervals).astype(float)
        frames.append(rounds)
    if not frames:
        raise RunDirError("no run has traces/rounds.parquet: the leader study needs TIE rounds")
    data = pd.concat(frames, ignore_index=True)
    if data.empty:
        raise RunDirError("rounds.parquet is empty: no TIE method was run")
    return data


def _interval_swept(frame: pd.DataFrame) -> bool:
    """True when one method of one task ran at several intervals (an interval sweep); a method's
    own default (tcc at 32, top-1 at 16) is not a sweep and stays out of the names."""
    per = frame.groupby(["task", "method"], dropna=False)["interval"].nunique(dropna=False)
    return bool((per > 1).any())


def _interval_text(values: pd.Series) -> pd.Series:
    """`interval 8` (steps per round), never `n=8`, which reads like a sample size."""
    num = pd.to_numeric(values, errors="coerce")
    text = num.map(lambda v: "—" if pd.isna(v) else f"{v:g}")
    return "interval " + text


def _label(frame: pd.DataFrame) -> pd.Series:
    """Series names: the method, plus task / interval only where they vary."""
    label = frame["method"].astype(str)
    if frame["task"].nunique() > 1:
        label = frame["task"].astype(str) + " · " + label
    if _interval_swept(frame):
        label = label + " (" + _interval_text(frame["interval"]) + ")"
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
    order = sorted(range(len(data)), key=lambda i: (method_rank(methods[i]), interval[i]))
    data = data.iloc[order]
    data["row"] = data["method"].astype(str)
    if _interval_swept(data):
        data["row"] = data["row"] + " (" + _interval_text(data["interval"]) + ")"
    tasks = list(dict.fromkeys(rates["task"]))
    table = data.pivot_table(
        index="row", columns="task", values="cell", aggfunc="first", sort=False
    )[tasks]
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


def plot_change_timing(progress: pd.DataFrame, path: str | Path) -> list[Path]:
    """Figure 3: share of leader changes (left) and change rate (right) against progress."""
    import matplotlib.pyplot as plt

    data = progress.assign(label=_label(progress))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 3.8), sharex=True)
    for label, g in data.groupby("label", sort=False):
        left.plot(g["progress"], g["change_share"], marker="o", label=label)
        right.plot(g["progress"], g["change_rate"], marker="o", label=label)
    left.set_ylabel("share of all leader changes (%)")
    right.set_ylabel("leader change rate (% of relays)")
    for ax in (left, right):
        ax.set_xlabel("decoding progress (share of the problem's rounds done)")
        ax.set_xlim(0, 1)
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle("When in decoding the leader changes")
    return save_figure(fig, data, path)


def run(root: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write `leader_change_rate.png`, `leader_timing.png` (Figure 3: changes against normalised
    decoding progress), `leader_share.csv`, `leader_table.*` (Table 5)."""
    runs = load_runs(root)
    out = Path(out) if out else Path(root) / "figures"
    rounds = collect(runs)
    rates = change_rate(rounds)
    written = plot_change_rate(rates, out / "leader_change_rate.png")
    written += plot_change_timing(change_progress(rounds), out / "leader_timing.png")
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
