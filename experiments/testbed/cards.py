"""Write measured accuracies into the zoo model cards (the MEASURED section) from result dirs.

Usage: python experiments/testbed/cards.py main control countdown
(each argument is a tag under experiments/testbed/results/ written by measure.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tie.training.export import MEASURED_BEGIN, MEASURED_END

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "testbed" / "results"


def _count(value: float | None) -> str:
    """A mean change count, or '-' when there were no such answers."""
    return "-" if value is None or value != value else f"{value:.2f}"


def _rule(cfg: dict) -> str:
    """How a result tag's relay chose its leaders: the tie rule, and what the score read beyond
    the paper's answer positions."""
    parts = [f"relay-score tie rule {cfg.get('relay_tie_break', cfg.get('tie_break', 'own_top1'))}"]
    if cfg.get("change_positions", "answer") == "answer_and_block":
        parts.append(
            "the token change count reads the answer and the masked positions of the block being "
            "written (`change_positions=answer_and_block`)"
        )
    if cfg.get("tie_tolerance"):
        parts.append(
            f"relay scores within {cfg['tie_tolerance']} of the best count as tied "
            "(`tie_tolerance`)"
        )
    if cfg.get("count_last_commit", False):
        parts.append("each round ends with one look-ahead forward per member (`count_last_commit`)")
    return "; ".join(parts)


def _relay_rules(tags: list[str]) -> str:
    """The relay rules as the result tags record them (all alike, or said per tag)."""
    rules = {
        tag: _rule(json.loads((RESULTS / tag / "metrics.json").read_text())["config"])
        for tag in tags
    }
    if len(set(rules.values())) == 1:
        return f"; {next(iter(rules.values()))}"
    groups: dict[str, list[str]] = {}
    for tag, rule in rules.items():
        groups.setdefault(rule, []).append(tag)
    return "; " + "; ".join(f"{', '.join(tags)}: {rule}" for rule, tags in groups.items())


def member_section(name: str, tags: list[str]) -> str:
    lines = [
        MEASURED_BEGIN,
        "Greedy, one token per step, blocks of 8, low-confidence remasking (see "
        "`experiments/testbed/RESULTS.md` for the ensemble results). Ensemble runs: relay "
        "interval 8 steps = one 8-character fact slot per round" + _relay_rules(tags) + ".",
        "",
        "| run | task | split / seed / n | accuracy % [95% CI] | per category | "
        "answer change count correct / incorrect |",
        "|---|---|---|---|---|---|",
    ]
    for tag in tags:
        metrics = json.loads((RESULTS / tag / "metrics.json").read_text())
        cfg, entry = metrics["config"], metrics["methods"].get(f"single:{name}")
        if entry is None:
            continue
        cats = ", ".join(f"{k} {v:.1f}" for k, v in entry["per_category"].items())
        prem = entry.get("premise") or {}
        lines.append(
            f"| {tag} | {cfg['task']} (mix {cfg['mix']}) | {cfg['split']} / {cfg['seed']} / "
            f"{cfg['n']} | {entry['accuracy']:.1f} [{entry['ci95'][0]:.1f}, {entry['ci95'][1]:.1f}]"
            f" | {cats} | {_count(prem.get('tcc_correct'))} / "
            f"{_count(prem.get('tcc_incorrect'))} |"
        )
    lines.append(MEASURED_END)
    return "\n".join(lines)


def update(tags: list[str], zoo: Path = ROOT / "zoo") -> None:
    for card in sorted(zoo.glob("*/MODEL_CARD.md")):
        text = card.read_text()
        if MEASURED_BEGIN not in text:
            raise ValueError(f"{card} has no measured-accuracy markers")
        head = text[: text.index(MEASURED_BEGIN)]
        tail = text[text.index(MEASURED_END) + len(MEASURED_END) :]
        card.write_text(head + member_section(card.parent.name, tags) + tail)


if __name__ == "__main__":
    update(sys.argv[1:])
