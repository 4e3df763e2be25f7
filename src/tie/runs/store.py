"""Predictions on disk: atomic part files per fixed chunk of problems, merged in dataset order.

A chunk is a fixed slice of the dataset (`batch_size` consecutive problems), so its part file has
the same name whichever rank decoded it and whether or not the run was resumed: a part is either
complete or absent (tmp file + os.replace), and resuming skips exactly the chunks that exist.
mode=inject adds `parts/injection-NNNNNN.jsonl` per chunk, written just before the chunk's part,
merged into `traces/injection.parquet`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tie.runs.errors import DiskFullError, RunConfigError

log = logging.getLogger(__name__)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

PART_GLOB = "chunk-*.jsonl"
INJECTION_GLOB = "injection-*.jsonl"
CALIBRATION_FILE = "calibration.json"  # calibration=fit: {temperatures, bounds, n_rows, ...}


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a tmp file in the same dir + fsync + rename: readers see old or new, never half.

    A full disk (ENOSPC, EDQUOT) leaves the old file, removes the tmp file and raises DiskFullError
    (one line naming the file) instead of an OSError traceback."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in DISK_FULL:
            raise DiskFullError(
                f"no space left on the device while writing {path} (left as it was; a rerun "
                "in the same run dir resumes)",
                path,
            ) from exc
        raise


@contextmanager
def disk_full_as_one_line(run_dir: Path) -> Iterator[None]:
    """Merging parts into predictions/traces/metrics: a full disk becomes one DiskFullError line
    (pyarrow's and json's writes included); the parts are only read, so nothing is lost."""
    try:
        yield
    except OSError as exc:
        if not (isinstance(exc, DiskFullError) or exc.errno in DISK_FULL or "No space" in str(exc)):
            raise
        path = getattr(exc, "path", None) or exc.filename
        raise DiskFullError(
            f"no space left on the device while writing {path or 'the merged files'} (merging "
            f"the parts of {run_dir}); nothing was lost, the parts are intact: free space and "
            f"rerun the same command with hydra.run.dir={run_dir} to merge them",
            path,
        ) from exc


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as {dotted.key: leaf} (lists are leaves)."""
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): obj}


_ABSENT = object()


def plan_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`key: old -> new` for every leaf setting that differs (dotted keys, sorted)."""
    a, b = _flat(old), _flat(new)
    out = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k, _ABSENT), b.get(k, _ABSENT)
        if x != y:
            show = lambda v: "(absent)" if v is _ABSENT else json.dumps(v)  # noqa: E731
            out.append(f"{k}: {show(x)} -> {show(y)}")
    return out


@dataclass(frozen=True)
class Chunk:
    index: int
    rows: list[dict[str, Any]]


def make_chunks(rows: list[dict[str, Any]], size: int) -> list[Chunk]:
    return [Chunk(k // size, rows[k : k + size]) for k in range(0, len(rows), size)]


class PredictionStore:
    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.parts_dir = self.run_dir / "parts"

    def part_path(self, chunk: int) -> Path:
        return self.parts_dir / f"chunk-{chunk:06d}.jsonl"

    def write_chunk(self, chunk: int, rows: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, default=str) + "\n" for r in rows)
        atomic_write_text(self.part_path(chunk), text)

    def write_injection(self, chunk: int, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, default=str) + "\n" for r in records)
        atomic_write_text(self.parts_dir / f"injection-{chunk:06d}.jsonl", text)

    def done_chunks(self) -> set[int]:
        if not self.parts_dir.exists():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.parts_dir.glob(PART_GLOB)}

    def check_plan(self, fingerprint: dict[str, Any]) -> bool:
        """Record the plan of a fresh run; on resume refuse a run dir made by a different plan,
        naming every changed setting (`decode.seed: 0 -> 1`). A run dir whose earlier run decoded
        nothing (it failed before its first chunk) is re-planned: there is nothing to protect.

        Returns True when resuming."""
        path = self.run_dir / "plan.json"
        fingerprint = json.loads(json.dumps(fingerprint, default=str))
        if path.exists():
            old = json.loads(path.read_text())
            changes = plan_changes(old, fingerprint)
            if not changes:
                return True
            if self.done_chunks():
                raise RunConfigError(
                    f"run dir {self.run_dir} holds a different run (changed: {'; '.join(changes)}); "
                    "resume with the same settings or choose a new hydra.run.dir"
                )
            log.warning(
                "run dir %s: its earlier run decoded nothing; re-planned (changed: %s)",
                self.run_dir,
                "; ".join(changes),
            )
        atomic_write_json(path, fingerprint)
        return False

    def merge(self, n_rows: int, methods: list[str]) -> list[dict[str, Any]]:
        """Every part, ordered by (dataset index, method order); checks each pair exactly once."""
        order = {m: i for i, m in enumerate(methods)}
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for part in sorted(self.parts_dir.glob(PART_GLOB)):
            for line in part.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                seen[(row["id"], row["method"])] = row
        rows = sorted(seen.values(), key=lambda r: (r["index"], order.get(r["method"], len(order))))
        expected = n_rows * len(methods)
        if len(rows) != expected:
            raise RuntimeError(f"merged {len(rows)} prediction rows, expected {expected}")
        atomic_write_text(
            self.run_dir / "predictions.jsonl",
            "".join(json.dumps(r, default=str) + "\n" for r in rows),
        )
        return rows

    def merge_injection(
        self, n_rows: int, directions: list[tuple[str, str]], ratios: list[float]
    ) -> list[dict[str, Any]]:
        """Injection parts -> `traces/injection.parquet`, one row per (id, source, target, ratio)
        in dataset, direction and ratio order; checks every record is there exactly once."""
        import pandas as pd

        d_order = {d: i for i, d in enumerate(directions)}
        r_order = {float(r): i for i, r in enumerate(ratios)}
        seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for part in sorted(self.parts_dir.glob(INJECTION_GLOB)):
            for line in part.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                seen[(rec["id"], rec["source"], rec["target"], float(rec["ratio"]))] = rec
        records = sorted(
            seen.values(),
            key=lambda r: (
                r["index"],
                d_order.get((r["source"], r["target"]), len(d_order)),
                r_order.get(float(r["ratio"]), len(r_order)),
            ),
        )
        expected = n_rows * len(directions) * len(ratios)
        if len(records) != expected:
            raise RuntimeError(f"merged {len(records)} injection records, expected {expected}")
        path = self.run_dir / "traces" / "injection.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pd.DataFrame(records).to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return records
