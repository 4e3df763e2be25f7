"""Pool held-out runs of different seeds (same methods) into one paired comparison.

Usage (from the repo root):
    python experiments/testbed/pooled.py main4 main4-s1002 --a tie:tcc --b post

Problem ids carry their seed, so pooling seeds never pairs two different problems. Prints, per
tag and pooled: accuracy of both methods, the paired bootstrap delta A - B with its 95% interval
and p-value, and the exact McNemar p-value.
"""

from __future__ import annotations

import argparse
import sys

import variants  # beside this script: the one loader of results tags


def paired(tag: str, a: str, b: str) -> tuple[list[bool], list[bool]]:
    """Outcomes of methods a and b on the same problems of one tag, in problem order."""
    _, rows_a = variants.load(tag, a)
    _, rows_b = variants.load(tag, b)
    if rows_a.keys() != rows_b.keys():
        raise ValueError(f"results/{tag}: {a} and {b} were run on different problems")
    ids = sorted(rows_a)
    return [bool(rows_a[i]["correct"]) for i in ids], [bool(rows_b[i]["correct"]) for i in ids]


def row(name: str, xa: list[bool], xb: list[bool], n_boot: int) -> str:
    from tie.stats import mcnemar_exact, paired_bootstrap

    ci, p = paired_bootstrap(xa, xb, n_boot=n_boot)
    mc = mcnemar_exact(xa, xb)
    return (
        f"| {name} | {len(xa)} | {100 * sum(xa) / len(xa):.1f} | {100 * sum(xb) / len(xb):.1f} | "
        f"{100 * ci.estimate:+.1f} "
        f"[{100 * ci.low:+.1f}, {100 * ci.high:+.1f}] | {p:.3f} | {mc.p_value:.3f} |"
    )


def table(tags: list[str], a: str, b: str, n_boot: int = 5000) -> str:
    lines = [
        f"| run | n | {a} % | {b} % | {a} - {b} [95% CI] | bootstrap p | McNemar p |",
        "|---|---|---|---|---|---|---|",
    ]
    all_a: list[bool] = []
    all_b: list[bool] = []
    for tag in tags:
        xa, xb = paired(tag, a, b)
        lines.append(row(tag, xa, xb, n_boot))
        all_a += xa
        all_b += xb
    if len(tags) > 1:
        lines.append(row("pooled", all_a, all_b, n_boot))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tags", nargs="+")
    p.add_argument("--a", default="tie:tcc")
    p.add_argument("--b", default="post")
    p.add_argument("--n-boot", type=int, default=5000)
    args = p.parse_args(argv)
    print(table(args.tags, args.a, args.b, args.n_boot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
