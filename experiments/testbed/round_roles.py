"""How well one relay round identifies the member that owns the fact written in it.

Usage (from the repo root; dev splits only, this is a diagnostic):
    python experiments/testbed/round_roles.py --tag roles-s9 --seed 9 --n 300

Decodes TIE(tcc) on `synth_math` with a tracer and, for every fact round of a private fact (round
j writes fact j at interval 8, block 8), sorts the members into roles: the fact's *owner*, a
*co-owner* (owns another fact of the problem) and an *outsider* (owns none). Per category and
role: the share of rounds with no answer change, the mean round change count, the share of
rounds the role led; plus the share of tied rounds, of rounds whose leader was not the member the
tie rule ranks first (the change count overrode the tie key), and of rounds whose owner that
member was. Writes `results/<tag>/round_roles.md` and `.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "testbed" / "results"
ROLES = ("owner", "co-owner", "outsider")


class RoundLog:
    """A tracer that keeps the round rows in memory (no steps, no files)."""

    def __init__(self) -> None:
        self.rounds: list[dict] = []

    def add_round(self, row: dict) -> None:
        self.rounds.append(row)

    def add_step(self, row: dict) -> None:
        pass

    def add_candidate(self, row: dict) -> None:
        pass


def fact_groups(row: dict) -> list[int | None]:
    """The owning group of each fact of a problem, in writing order (None: common)."""
    from tie.tasks.synth_world import get_world

    world = get_world()
    names = [seg.split("=")[0] for seg in row["reasoning"].split(";") if seg.startswith("e")]
    return [world.group[world.index(n)] for n in names]


def role(member: int, owner: int, groups: list[int | None]) -> str:
    if member == owner:
        return "owner"
    return "co-owner" if member in groups else "outsider"


def tabulate(rows: list[dict], rounds: list[dict], members: list[str]) -> dict:
    by = defaultdict(dict)
    for r in rounds:
        by[(r["id"], r["round"])][r["model"]] = r
    acc: dict = defaultdict(lambda: defaultdict(float))
    for row in rows:
        groups = fact_groups(row)
        for j, g in enumerate(groups):
            rnd = by.get((row["id"], j))
            if g is None or rnd is None:  # common facts have no single owner
                continue
            cat = acc[row["category"]]
            cat["rounds"] += 1
            first = rnd[members[0]]
            cat["tied"] += bool(first["tied"])
            lead = members.index(first["leader"])
            cat[f"led:{role(lead, g, groups)}"] += 1
            if role(lead, g, groups) != "owner":  # the owner lost its round: on a tie or outright
                cat["lost:tied" if first["tied"] else "lost:outright"] += 1
            keys = [rnd[name].get("tie_key") for name in members]
            if None not in keys:  # the count overrode the tie key: its most confident member lost
                surest = max(range(len(keys)), key=lambda i: (keys[i], -i))
                cat["keyed"] += 1
                cat["overrode"] += surest != lead
                cat["owner_surest"] += surest == g
            for i, name in enumerate(members):
                who = role(i, g, groups)
                change = -rnd[name]["score_tcc"]
                cat[f"n:{who}"] += 1
                cat[f"zero:{who}"] += change == 0
                cat[f"tcc:{who}"] += change
    out = {}
    for cat, c in sorted(acc.items()):
        entry = {
            "fact_rounds": int(c["rounds"]),
            "tied": c["tied"] / c["rounds"],
            "owner_lost": {k: c[f"lost:{k}"] / c["rounds"] for k in ("tied", "outright")},
            "count_overrode_key": c["overrode"] / c["keyed"] if c["keyed"] else None,
            "owner_surest": c["owner_surest"] / c["keyed"] if c["keyed"] else None,
        }
        for who in ROLES:
            n = c[f"n:{who}"]
            if n:
                entry[who] = {
                    "no_change": c[f"zero:{who}"] / n,
                    "mean_change": c[f"tcc:{who}"] / n,
                    "led": c[f"led:{who}"] / c["rounds"],
                }
        out[cat] = entry
    return out


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}%"


def render(stats: dict, args: argparse.Namespace) -> str:
    lines = [
        f"`synth_math` split=dev seed={args.seed} n={args.n} mix={getattr(args, 'mix', 'default')};"
        f" TIE(tcc), interval {args.interval},"
        f" tie-break {args.tie_break}, tie tolerance {getattr(args, 'tie_tolerance', 0.0)},"
        f" count_last_commit {args.count_last_commit}, change count"
        f" over {getattr(args, 'change_positions', 'answer').replace('_', ' ')}; private-fact"
        " rounds only",
        "",
        "| category | fact rounds | tied | role | no change | mean change | led |",
        "|---|---|---|---|---|---|---|",
    ]
    for cat, e in stats.items():
        for who in ROLES:
            if who in e:
                r = e[who]
                lines.append(
                    f"| {cat} | {e['fact_rounds']} | {100 * e['tied']:.0f}% | {who} | "
                    f"{100 * r['no_change']:.0f}% | {r['mean_change']:.2f} | {100 * r['led']:.0f}% |"
                )
    lines += [
        "",
        "| category | owner lost its fact round: on a tie | outright | count overrode tie key |"
        " owner had the top tie key |",
        "|---|---|---|---|---|",
    ]
    for cat, e in stats.items():
        lost = e["owner_lost"]
        over, surest = (_pct(e.get(k)) for k in ("count_overrode_key", "owner_surest"))
        lines.append(
            f"| {cat} | {100 * lost['tied']:.0f}% | {100 * lost['outright']:.0f}% | {over} |"
            f" {surest} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tag", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--mix", default="default")
    p.add_argument("--members", nargs="+", default=["llada-a", "dream-b", "llada-c"])
    p.add_argument("--interval", type=int, default=8)
    p.add_argument("--tie-break", default="own_top1")
    p.add_argument("--count-last-commit", action="store_true")
    p.add_argument("--change-positions", default="answer", choices=["answer", "answer_and_block"])
    p.add_argument("--tie-tolerance", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    from measure import zoo_setup

    from tie.ensemble import run_method
    from tie.tasks.synth_math import SynthMathTask

    constituents, options = zoo_setup(args, trace_steps=False)
    task = SynthMathTask(seed=args.seed, n=args.n, split="dev", mix=args.mix)
    rows = task.load().to_list()
    log = RoundLog()
    prompts = [task.build_prompt(r) for r in rows]
    run_method("tie:tcc", constituents, prompts, task, options, tracer=log, rows=rows)
    stats = tabulate(rows, log.rounds, args.members)
    out = RESULTS / args.tag
    out.mkdir(parents=True, exist_ok=True)
    (out / "round_roles.json").write_text(
        json.dumps({"config": vars(args), "stats": stats}, indent=1)
    )
    text = render(stats, args)
    (out / "round_roles.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
