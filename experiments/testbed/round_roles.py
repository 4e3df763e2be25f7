"""How well one relay round identifies the member that owns the fact written in it.

Usage (from the repo root; dev splits only, this is a diagnostic):
    tie-run experiment=testbed_dev task.options.seed=9 'ensemble.methods=[tie:tcc]' \
        hydra.run.dir=logs/roles-s9
    python experiments/testbed/round_roles.py logs/roles-s9 [--out DIR]

Reads the run's TIE(tcc) relay rounds (`traces/rounds.parquet`) and problems and, for every fact
round of a private fact (round j writes fact j at interval 8, block 8), sorts the members into
roles: the fact's *owner*, a *co-owner* (owns another fact of the problem) and an *outsider* (owns
none). Per category and role: the share of rounds with no change, the mean round change count,
the share of rounds the role led; plus the share of tied rounds, of rounds whose leader was not
the member the tie rule ranks first (the change count overrode the tie key), and of rounds whose
owner that member was. Writes `round_roles.md` and `.json` into `--out` (default the run dir).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # analysis/ is a top-level package of the repo, not installed
ROLES = ("owner", "co-owner", "outsider")


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
        by[(str(r["id"]), int(r["round"]))][r["model"]] = r
    acc: dict = defaultdict(lambda: defaultdict(float))
    for row in rows:
        groups = fact_groups(row)
        for j, g in enumerate(groups):
            rnd = by.get((str(row["id"]), j))
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
            if all(
                k is not None and k == k for k in keys
            ):  # logged (NaN: null); the count overrode the tie key: its most confident member lost
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


def render(stats: dict, head: str) -> str:
    lines = [
        f"{head}; private-fact rounds only",
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
    p.add_argument("run", help="a tie-run run directory with tie:tcc rounds on synth_math")
    p.add_argument("--method", default="tie:tcc")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)

    from analysis import testbed
    from analysis.rundir import RunDir

    run = RunDir(args.run)
    rounds = run.trace("rounds")
    rounds = rounds[rounds["method"] == args.method].to_dict("records")
    rows = list(testbed.task_rows(run).values())
    ids = set(run.predictions["id"])
    rows = [r for r in rows if str(r["id"]) in ids]
    stats = tabulate(rows, rounds, list(run.cfg("models")))
    head = f"{testbed.label(run)}; {args.method}, interval {run.method_interval(args.method)}, " + (
        testbed.setting(run)
    )
    out = args.out or run.path
    out.mkdir(parents=True, exist_ok=True)
    config = {"run": str(run.path), "method": args.method, "label": head}
    (out / "round_roles.json").write_text(json.dumps({"config": config, "stats": stats}, indent=1))
    text = render(stats, head)
    (out / "round_roles.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
