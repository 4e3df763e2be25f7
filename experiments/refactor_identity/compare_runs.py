"""Are two run directories the same run? Predictions and traces, value by value (issue 21).

`python experiments/refactor_identity/compare_runs.py <before run dir> <after run dir> [...]`
(pairs). Compares `predictions.jsonl` (every field but wall time) and every
`traces/*.parquet` table (row order included; floats exactly, NaN equal to NaN); prints one line
per table and exits 1 on any difference. Wall-clock fields are the only ones allowed to differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

WALL = {"wall_s"}


def _predictions(run: Path) -> pd.DataFrame:
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    return pd.DataFrame([{k: v for k, v in r.items() if k not in WALL} for r in rows])


def _same(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """None when equal, else a short description of the first difference."""
    if list(a.columns) != list(b.columns):
        return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} rows"
    for col in a.columns:
        x, y = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        bad = pd.Series([_key(u) != _key(w) for u, w in zip(x, y)])
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            return (
                f"column {col!r}: {int(bad.sum())} rows differ, first row {i}: {x[i]!r} vs {y[i]!r}"
            )
    return None


def _key(v):
    """A hashable, exact representation (arrays as tuples; NaN and None as markers, since pandas
    compares neither equal to itself)."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if v is None:
        return "<None>"
    if isinstance(v, float) and v != v:
        return "<NaN>"
    if isinstance(v, (list, tuple)):
        return tuple(_key(u) for u in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _key(u)) for k, u in v.items()))
    return v


def compare(before: Path, after: Path) -> bool:
    ok = True
    tables = {"predictions.jsonl": (_predictions(before), _predictions(after))}
    for p in sorted((before / "traces").glob("*.parquet")):
        tables[f"traces/{p.name}"] = (
            pd.read_parquet(p),
            pd.read_parquet(after / "traces" / p.name),
        )
    for name, (a, b) in tables.items():
        diff = _same(a, b)
        print(f"{before.name}: {name}: {len(a)} rows, " + ("identical" if diff is None else diff))
        ok &= diff is None
    return ok


def main(argv: list[str]) -> int:
    if len(argv) % 2 or not argv:
        print(__doc__)
        return 2
    pairs = zip(argv[::2], argv[1::2])
    return 0 if all([compare(Path(a), Path(b)) for a, b in pairs]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
