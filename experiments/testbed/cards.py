"""Write measured accuracies into the zoo model cards (the MEASURED section) from tie-run runs.

Usage: python experiments/testbed/cards.py <run dir or sweep> [...]
(the runs of `tie-run -m experiment=testbed_test`, `testbed_countdown`, ...; each run is one row
of every member's table, read through `analysis.testbed`).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # analysis/ is a top-level package of the repo, not installed

from analysis import testbed  # noqa: E402
from analysis.rundir import RunDir  # noqa: E402
from tie.training.export import MEASURED_BEGIN, MEASURED_END  # noqa: E402


def _count(value: float | None) -> str:
    """A mean change count, or '-' when there were no such answers."""
    return "-" if value is None or value != value else f"{value:.2f}"


def _rule(run: RunDir) -> str:
    """How a run's relay chose its leaders: the tie rule, and what the score read beyond the
    paper's answer positions."""
    parts = [f"relay-score tie rule {testbed.option(run, 'tie_break', 'own_top1')}"]
    if testbed.option(run, "change_positions") == "answer_and_block":
        parts.append(
            "the token change count reads the answer and the masked positions of the block being "
            "written (`change_positions=answer_and_block`)"
        )
    if testbed.option(run, "tie_tolerance"):
        parts.append(
            f"relay scores within {testbed.option(run, 'tie_tolerance')} of the best count as "
            "tied (`tie_tolerance`)"
        )
    if testbed.option(run, "count_last_commit"):
        parts.append("each round ends with one look-ahead forward per member (`count_last_commit`)")
    return "; ".join(parts)


def _relay_rules(runs: list[RunDir]) -> str:
    """The relay rules as the runs record them (all alike, or said per run)."""
    rules = {testbed.label(r): _rule(r) for r in runs}
    if len(set(rules.values())) == 1:
        return f"; {next(iter(rules.values()))}"
    groups: dict[str, list[str]] = {}
    for name, rule in rules.items():
        groups.setdefault(rule, []).append(name)
    return "; " + "; ".join(f"{', '.join(names)}: {rule}" for rule, names in groups.items())


def member_section(name: str, runs: list[RunDir], summaries: list) -> str:
    interval = {str(r.cfg("ensemble.interval")) for r in runs}
    lines = [
        MEASURED_BEGIN,
        "Greedy, one token per step, blocks of 8, low-confidence remasking (see "
        "`experiments/testbed/RESULTS.md` for the ensemble results). Ensemble runs: relay "
        f"interval {'/'.join(sorted(interval))} steps (one 8-character fact slot per round at 8)"
        + _relay_rules(runs)
        + ". Change counts over the answer positions (the paper's).",
        "",
        "| run | accuracy % [95% CI] | per category | answer change count correct / incorrect |",
        "|---|---|---|---|",
    ]
    for summary in summaries:
        rows = summary[summary["method"] == f"single:{name}"]
        if not len(rows):
            continue
        r = rows.iloc[0]
        cats = ", ".join(
            f"{c[4:]} {r[c]:.1f}" for c in summary.columns if c.startswith("acc_") and r[c] == r[c]
        )
        lines.append(
            f"| {r['run']} | {r['accuracy']:.1f} [{r['ci_low']:.1f}, {r['ci_high']:.1f}] | {cats} "
            f"| {_count(r.get('premise_tcc_correct'))} / {_count(r.get('premise_tcc_incorrect'))} |"
        )
    lines.append(MEASURED_END)
    return "\n".join(lines)


def update(roots: list[str], zoo: Path = ROOT / "zoo") -> list[Path]:
    runs = [r for root in roots for r in testbed.testbed_runs(root)]
    summaries = [testbed.summarise(r) for r in runs]
    written = []
    for card in sorted(zoo.glob("*/MODEL_CARD.md")):
        text = card.read_text()
        if MEASURED_BEGIN not in text:
            raise ValueError(f"{card} has no measured-accuracy markers")
        head = text[: text.index(MEASURED_BEGIN)]
        tail = text[text.index(MEASURED_END) + len(MEASURED_END) :]
        card.write_text(head + member_section(card.parent.name, runs, summaries) + tail)
        written.append(card)
    return written


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: cards.py <run dir or sweep> [...]")
    for path in update(sys.argv[1:]):
        print(path)
