"""The table printed at the end of a run: accuracy, interval, NFE and wall time per method."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def method_interval(method: str, interval: int | None) -> str:
    if method.startswith("tie:"):
        return str(interval)
    if method == "post":
        return "all"
    return "-"


def print_summary(metrics: dict[str, Any], title: str, console: Console | None = None) -> Table:
    table = Table(title=title)
    for col in (
        "method",
        "accuracy %",
        "95% CI",
        "n",
        "interval",
        "NFE",
        "wall s",
        "vs best single",
    ):
        table.add_column(col, justify="left" if col == "method" else "right", no_wrap=True)
    for m, s in metrics["methods"].items():
        c = metrics["comparisons"].get(m)
        delta = "best" if m == metrics.get("best_single") else (
            f"{c['delta']:+.1f} (p={c['mcnemar_p']:.3f})" if c else "")  # fmt: skip
        table.add_row(
            m,
            f"{s['accuracy']:.1f}",
            f"[{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]",
            str(s["n"]),
            method_interval(m, s.get("interval", metrics.get("interval"))),
            f"{s['nfe_mean']:.1f}",
            f"{s['wall_s']:.1f}",
            delta,
        )
    if console is None:
        console = Console()
        console.width = max(console.width, 110)  # no wrapping of method names in logs
    console.print(table)
    if metrics.get("injection"):
        console.print(injection_table(metrics))
    return table


def injection_table(metrics: dict[str, Any]) -> Table:
    """mode=inject: correction rate per direction and ratio."""
    table = Table(
        title="injection: target right from the source's state (source right, target wrong)"
    )
    for col in ("direction", "r", "correction %", "95% CI", "corrected", "broken", "n"):
        table.add_column(col, justify="left" if col == "direction" else "right", no_wrap=True)
    for direction, by_ratio in metrics["injection"].items():
        for ratio, s in by_ratio.items():
            table.add_row(
                direction,
                ratio,
                f"{s['correction_rate']:.1f}",
                f"[{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]",
                f"{s['n_corrected']}/{s['n_eligible']}",
                str(s["n_broken"]),
                str(s["n_problems"]),
            )
    return table
