"""Compare TIE(tcc) variants decoded in separate runs against `post` on the same problems.

Usage (from the repo root):
    python experiments/testbed/variants.py --base dev7-s8 \
        --variant "own_top1=dev7-s8" "count_last_commit=dev7-s8-clc" "incumbent=dev7-s8-inc"

Each `name=tag` names a results tag whose predictions.jsonl holds a `tie:tcc` run; `--base` holds
`post` for the same task, split, seed and n. Prints a markdown table: accuracy, the paired
bootstrap delta vs post with its 95% interval, accuracy per category, leader change rate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "testbed" / "results"
SAME = ("task", "split", "seed", "n", "mix")


def load(tag: str, method: str) -> tuple[dict, dict[str, dict]]:
    """(config, {problem id: prediction row}) of one method in one tag."""
    config = json.loads((RESULTS / tag / "metrics.json").read_text())["config"]
    rows = {}
    for line in (RESULTS / tag / "predictions.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["method"] == method:
            rows[r["id"]] = r
    if not rows:
        raise ValueError(f"results/{tag} has no {method!r} predictions")
    return config, rows


def leader_change_rate(rows: list[dict]) -> float:
    pairs = [(a, b) for r in rows for a, b in zip(r["leaders"], r["leaders"][1:])]
    return sum(a != b for a, b in pairs) / max(1, len(pairs))


def table(base: str, variants: list[tuple[str, str]], n_boot: int = 5000) -> str:
    from tie.stats import paired_bootstrap

    base_cfg, post = load(base, "post")
    ids = sorted(post)
    cats = sorted({post[i]["category"] for i in ids})
    head = "| variant | acc % | vs post [95% CI] | " + " | ".join(cats) + " | leader change |"
    lines = [
        f"`{base_cfg['task']}` split={base_cfg['split']} seed={base_cfg['seed']} "
        f"n={base_cfg['n']} mix={base_cfg['mix']}; post {_acc([post[i] for i in ids]):.1f}%",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for name, tag in variants:
        cfg, tie = load(tag, "tie:tcc")
        for key in SAME:
            if cfg[key] != base_cfg[key]:
                raise ValueError(f"{tag}: {key} {cfg[key]!r} differs from {base}'s")
        if sorted(tie) != ids:
            raise ValueError(f"{tag}: not the same problems as {base}")
        rows = [tie[i] for i in ids]
        ci, _ = paired_bootstrap(
            [r["correct"] for r in rows], [post[i]["correct"] for i in ids], n_boot=n_boot
        )
        per_cat = [_acc([r for r in rows if r["category"] == c]) for c in cats]
        lines.append(
            f"| {name} | {_acc(rows):.1f} | {100 * ci.estimate:+.1f} [{100 * ci.low:+.1f}, "
            f"{100 * ci.high:+.1f}] | "
            + " | ".join(f"{a:.1f}" for a in per_cat)
            + f" | {leader_change_rate(rows):.2f} |"
        )
    return "\n".join(lines)


def _acc(rows: list[dict]) -> float:
    return 100 * sum(r["correct"] for r in rows) / max(1, len(rows))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="tag with the post predictions")
    p.add_argument("--variant", nargs="+", required=True, help="name=tag")
    args = p.parse_args(argv)
    variants = []
    for v in args.variant:
        name, sep, tag = v.partition("=")
        if not sep:
            raise SystemExit(f"--variant {v!r}: expected name=tag")
        variants.append((name, tag))
    print(table(args.base, variants))
    return 0


if __name__ == "__main__":
    sys.exit(main())
