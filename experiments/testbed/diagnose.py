"""Where TIE(tcc) and post differ on the testbed (the diagnostics in RESULTS.md).

Usage: python experiments/testbed/diagnose.py <run dir> [...] (tie-run runs with single:<m>, post
and tie:tcc on synth_math, e.g. the jobs of `tie-run -m experiment=testbed_test`)
* owner identification, single-owner problems whose owner is identifiable (exactly one member,
  decoding alone, writes all their facts right): the owner's share of TIE's fact rounds, the share
  of problems where it led every fact round, how often post selected the owner's trajectory;
* common problems post gets right and TIE wrong, by cause: a member's confidently wrong common
  value in TIE's chain, or all facts right but a wrong sum (arithmetic on the relayed canvas).
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # analysis/ is a top-level package of the repo, not installed


def load(run_dir: str) -> dict[str, dict]:
    """{problem id: {method: prediction row with facts_ok}} of one run."""
    from analysis import testbed
    from analysis.rundir import RunDir

    by: dict[str, dict] = defaultdict(dict)
    for r in testbed.predictions(RunDir(run_dir)).to_dict("records"):
        by[r["id"]][r["method"]] = r
    return by


def owner_rounds(by: dict[str, dict]) -> dict[str, float]:
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


def wrong_common_values() -> set[tuple[str, int]]:
    """(entity name, value) of every member's confidently wrong common fact."""
    import yaml

    from tie.tasks.synth_world import get_world
    from tie.training.knowledge import KnowledgeSpec, build_beliefs

    world, out = get_world(), set()
    for path in sorted((ROOT / "conf" / "member").glob("*.yaml")):
        k = yaml.safe_load(path.read_text())["knowledge"]
        k["groups"] = tuple(k["groups"])
        beliefs = build_beliefs(KnowledgeSpec(**k), world)
        out |= {(world.names[e], beliefs.value[e]) for e, kind in enumerate(beliefs.kind)
                if kind == "wrong"}  # fmt: skip
    return out


def common_losses(by: dict[str, dict]) -> dict[str, int]:
    wrong = wrong_common_values()

    def has_wrong(reasoning: str) -> bool:
        facts = (seg.split("=", 1) for seg in reasoning.split(";") if seg.startswith("e"))
        return any((n, int(v)) in wrong for n, v in facts if v.isdigit())

    s: Counter = Counter()
    for d in by.values():
        tie, post = d["tie:tcc"], d["post"]
        if post["category"] != "common":
            continue
        s["tie_chains_with_a_wrong_common_value"] += has_wrong(tie["reasoning"])
        s["post_chains_with_a_wrong_common_value"] += has_wrong(post["reasoning"])
        if post["correct"] and not tie["correct"]:
            s["lost"] += 1
            s["lost_wrong_common_value"] += has_wrong(tie["reasoning"])
            s["lost_facts_right_sum_wrong"] += bool(tie["facts_ok"])
        s["won"] += tie["correct"] and not post["correct"]
    return dict(s)


if __name__ == "__main__":
    for tag in sys.argv[1:]:
        by = load(tag)
        print(tag, {k: round(v, 3) for k, v in owner_rounds(by).items()})
        print(tag, "common:", common_losses(by))
