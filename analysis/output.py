"""Writers shared by the studies: figures with their numbers (CSV) beside them, Markdown/LaTeX tables.

Every plot is saved together with the exact data frame it was drawn from, so each figure can be
checked or re-plotted without re-running the study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: `make figures` runs on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def save_figure(fig: Any, data: pd.DataFrame, path: str | Path) -> list[Path]:
    """Write `path` (PNG) and `path` with `.csv` (the numbers behind the plot); close the figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    csv = path.with_suffix(".csv")
    data.to_csv(csv, index=False)
    return [path, csv]


def fmt_num(value: Any, digits: int = 2) -> str:
    """Numbers with fixed digits; NaN/None as an em dash so empty cells are visible."""
    if value is None:
        return "—"
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return "—"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return str(value)


def fmt_p(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    return "<0.001" if p < 1e-3 else f"{p:.3f}"


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def to_markdown(frame: pd.DataFrame, title: str | None = None) -> str:
    """A GitHub-flavoured Markdown table (cells already formatted as strings)."""
    cols = [_md_cell(c) for c in frame.columns]
    lines = [f"**{title}**", ""] if title else []
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell(fmt_num(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "—": "--",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "→": r"$\rightarrow$",
    "·": r"$\cdot$",
    "−": "-",
    "|": r"\textbar{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(frame: pd.DataFrame, caption: str | None = None, label: str | None = None) -> str:
    """A booktabs `table` environment; first column left-aligned, the rest right-aligned."""
    ncol = len(frame.columns)
    spec = "l" + "r" * (ncol - 1)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(latex_escape(str(c)) for c in frame.columns) + r" \\")
    lines.append(r"\midrule")
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(latex_escape(fmt_num(v)) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(frame: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """Write `<stem>.md`, `<stem>.tex` and `<stem>.csv` (raw values) for one table."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    md, tex, csv = (stem.with_suffix(s) for s in (".md", ".tex", ".csv"))
    md.write_text(to_markdown(frame, title))
    tex.write_text(to_latex(frame, caption=title, label=f"tab:{stem.name}"))
    frame.to_csv(csv, index=False)
    return [md, tex, csv]
