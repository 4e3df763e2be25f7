"""Figures of the testbed results: TIE(tcc) minus post per test seed, and accuracy per category.

Usage (from the repo root):
    python experiments/testbed/plot.py main6 main6-s1006 control6 main5 main5-s1004 control5 \
        main4 main4-s1002 main5-answer-s1003 main5-answer-s1004 control4 \
        --categories main6 main6-s1006 control6

Reads `results/<tag>/metrics.json` (written by measure.py) and writes, under `results/figures/`
(or `--out`), `tie_vs_post.png` (the paired difference with its 95% interval for every tag, labelled
by seed and relay setting) and `per_category.png` (best single model, post and TIE(tcc) per problem
category, one panel per tag of `--categories`, default every tag), each with the CSV of the
numbers drawn beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "testbed" / "results"
sys.path.insert(0, str(ROOT))  # analysis/ is a top-level package of the repo, not installed


def setting(cfg: dict) -> str:
    """A short name of the relay setting a run used."""
    where = "answer + block" if cfg.get("change_positions") == "answer_and_block" else "answer"
    extra = [cfg.get("tie_break", "own_top1")]
    if cfg.get("tie_tolerance"):
        extra.append(f"ties within {cfg['tie_tolerance']:g}")
    if cfg.get("count_last_commit"):
        extra.append("look-ahead")
    return f"{where} ({', '.join(extra)})"


def load(tags: list[str]) -> list[tuple[str, dict]]:
    return [(t, json.loads((RESULTS / t / "metrics.json").read_text())) for t in tags]


def deltas(runs: list[tuple[str, dict]]) -> pd.DataFrame:
    """TIE(tcc) - post with its interval per run (runs without both methods are left out)."""
    rows = []
    for tag, m in runs:
        d = m["methods"].get("tie:tcc", {}).get("vs_post")
        if d is None:
            continue
        cfg = m["config"]
        rows.append(
            {
                "tag": tag,
                "seed": cfg["seed"],
                "mix": cfg["mix"],
                "setting": setting(cfg),
                "delta": d["delta"],
                "ci_low": d["ci95"][0],
                "ci_high": d["ci95"][1],
            }
        )
    return pd.DataFrame(rows)


def per_category(runs: list[tuple[str, dict]]) -> pd.DataFrame:
    """Accuracy per category of the best single model, post and TIE(tcc) of every run."""
    rows = []
    for tag, m in runs:
        methods = m["methods"]
        picks = {"post": "post", "TIE(tcc)": "tie:tcc"}
        if m.get("best_single"):
            picks = {"best single": m["best_single"], **picks}
        for label, name in picks.items():
            for cat, acc in methods.get(name, {}).get("per_category", {}).items():
                rows.append({"tag": tag, "method": label, "category": cat, "accuracy": acc})
    return pd.DataFrame(rows)


def plot(tags: list[str], out: Path, category_tags: list[str] | None = None) -> list[Path]:
    """Both figures; the per-category one for `category_tags` (None: every tag)."""
    from analysis.output import plt, save_figure

    runs = load(tags)
    written: list[Path] = []
    d = deltas(runs)
    if len(d):
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(d) + 1.2))
        y = list(range(len(d)))[::-1]
        err = [d["delta"] - d["ci_low"], d["ci_high"] - d["delta"]]
        ax.errorbar(d["delta"], y, xerr=err, fmt="o", capsize=3)
        ax.axvline(0, color="grey", lw=0.8)
        ax.axvline(3, color="grey", lw=0.8, ls="--")  # the size issue 10 asks for
        labels = [f"seed {r.seed} {r.mix}: {r.setting}" for r in d.itertuples()]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel("TIE(tcc) - post, points (95% paired bootstrap interval)")
        written += save_figure(fig, d, out / "tie_vs_post.png")
    c = per_category([r for r in runs if category_tags is None or r[0] in category_tags])
    if len(c):
        panels = list(dict.fromkeys(c["tag"]))
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3), squeeze=False)
        order = [m for m in ("best single", "post", "TIE(tcc)") if m in set(c["method"])]
        for ax, tag in zip(axes[0], panels):
            wide = c[c["tag"] == tag].pivot(index="category", columns="method", values="accuracy")
            wide.reindex(columns=order).plot.bar(ax=ax, rot=0, legend=False)
            ax.set_title(tag, fontsize=9)
            ax.set_ylim(0, 100)
            ax.set_xlabel("")
            ax.tick_params(labelsize=8)
        axes[0][0].set_ylabel("accuracy %")
        axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        written += save_figure(fig, c, out / "per_category.png")
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tags", nargs="+")
    p.add_argument("--out", type=Path, default=RESULTS / "figures")
    p.add_argument("--categories", nargs="+", default=None, help="tags of the per-category figure")
    args = p.parse_args(argv)
    for path in plot(args.tags, args.out, args.categories):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
