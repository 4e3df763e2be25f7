"""Every figure and table a run (or sweep) supports, into `<run>/figures/` (`make figures RUN=...`).

Each study runs only when the run holds its input (step traces, TIE rounds, an injection trace);
a study that cannot run is reported with the reason instead of failing the others.

CLI: `python -m analysis.figures <run dir or sweep> [--out DIR]`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from analysis import correction, leader, stability, tables
from analysis.rundir import RunDirError, load_runs

STUDIES: dict[str, Callable[..., list[Path]]] = {
    "tables": tables.run,
    "stability": stability.run,
    "leader": leader.run,
    "correction": correction.run,
}


def build_all(root: str | Path, out: str | Path | None = None) -> tuple[list[Path], dict[str, str]]:
    """Run every study; returns (files written, {study: why it was skipped})."""
    load_runs(root)  # fail early, with the reason, when `root` holds no run
    out = Path(out) if out else Path(root) / "figures"
    written: list[Path] = []
    skipped: dict[str, str] = {}
    for name, study in STUDIES.items():
        try:
            written += study(root, out)
        except RunDirError as exc:
            skipped[name] = str(exc)
    return written, skipped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run directory, or a sweep folder holding several")
    parser.add_argument("--out", help="output folder (default: <run>/figures)")
    args = parser.parse_args(argv)
    if not args.run:
        parser.error("give a run directory: make figures RUN=<run dir>")
    try:
        written, skipped = build_all(args.run, args.out)
    except RunDirError as exc:
        parser.exit(2, f"error: {exc}\n")
    for path in written:
        print(path)
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")


if __name__ == "__main__":
    main()
