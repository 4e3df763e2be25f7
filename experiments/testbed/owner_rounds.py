"""Per-round vs whole-decode owner identification on single-owner problems (RESULTS.md).

Usage: python experiments/testbed/owner_rounds.py main3 control3
A problem counts when exactly one member, decoding alone, writes all its facts right (its owner).
Reports the owner's share of TIE(tcc)'s fact rounds, the share of problems where it led every fact
round, and how often post selected the owner's trajectory.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def owner_rounds(tag: str) -> dict[str, float]:
    by: dict[str, dict] = defaultdict(dict)
    for line in (RESULTS / tag / "predictions.jsonl").read_text().splitlines():
        r = json.loads(line)
        by[r["id"]][r["method"]] = r
    s: Counter = Counter()
    for d in by.values():
        if d["post"]["category"] != "single":
            continue
        ok = [m.split(":", 1)[1] for m in d if m.startswith("single:") and d[m]["facts_ok"]]
        if len(ok) != 1:
            continue
        owner, tie = ok[0], d["tie:tcc"]
        n_facts = sum(seg.startswith("e") for seg in tie["reasoning"].split(";"))
        led = tie["leaders"][:n_facts]
        s["problems"] += 1
        s["rounds"] += n_facts
        s["owner_rounds"] += sum(x == owner for x in led)
        s["owner_led_all"] += all(x == owner for x in led)
        s["post_owner"] += d["post"]["selected_model"] == owner
    n = max(s["problems"], 1)
    return {
        "problems": s["problems"],
        "owner_share_of_fact_rounds": s["owner_rounds"] / max(s["rounds"], 1),
        "owner_led_every_fact_round": s["owner_led_all"] / n,
        "post_selected_owner": s["post_owner"] / n,
    }


if __name__ == "__main__":
    for tag in sys.argv[1:]:
        print(tag, {k: round(v, 3) for k, v in owner_rounds(tag).items()})
