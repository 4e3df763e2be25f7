"""Streaming, atomic Parquet writers for the trace tables.

Rows are buffered and flushed in batches to `<name>.parquet.tmp`; `close()` renames to the final
name, so a reader never sees a half-written file and memory stays bounded on large runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tie.tracing.schema import OPTIONAL, TABLES


class _TableWriter:
    def __init__(
        self, path: Path, schema: pa.Schema, batch_rows: int, optional: frozenset[str] = frozenset()
    ) -> None:
        self.path = path
        self.optional = optional
        self.tmp = path.with_name(path.name + ".tmp")
        self.schema = schema
        self.batch_rows = batch_rows
        self.buffer: list[dict[str, Any]] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        missing = set(self.schema.names) - set(self.buffer[0]) - self.optional
        if missing:
            raise ValueError(f"trace row for {self.path.name} lacks columns {sorted(missing)}")
        table = pa.Table.from_pylist(self.buffer, schema=self.schema)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.tmp, self.schema)
        self.writer.write_table(table)
        self.rows += len(self.buffer)
        self.buffer = []

    def close(self) -> None:
        self.flush()
        if self.writer is None:  # nothing written: still leave an empty, typed table
            self.path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(self.schema.empty_table(), self.tmp)
        else:
            self.writer.close()
            self.writer = None
        os.replace(self.tmp, self.path)


class Tracer:
    """Collects step / round / candidate rows of every method of a run.

    `steps=False` turns the step-level table off (large runs); rounds and candidates are cheap
    and always kept. Rank r > 0 writes `<name>.rank<r>.parquet` (merge with `merge_ranks`).
    """

    def __init__(
        self,
        traces_dir: str | os.PathLike,
        rank: int = 0,
        steps: bool = True,
        batch_rows: int = 4096,
    ) -> None:
        self.dir = Path(traces_dir)
        self.steps_enabled = steps
        suffix = "" if rank == 0 else f".rank{rank}"
        self._tables = {
            name: _TableWriter(
                self.dir / f"{name}{suffix}.parquet",
                schema,
                batch_rows,
                OPTIONAL.get(name, frozenset()),
            )
            for name, schema in TABLES.items()
            if steps or name != "steps"
        }
        self.closed = False

    def add_step(self, row: dict[str, Any]) -> None:
        if self.steps_enabled:
            self._tables["steps"].add(row)

    def add_round(self, row: dict[str, Any]) -> None:
        self._tables["rounds"].add(row)

    def add_candidate(self, row: dict[str, Any]) -> None:
        self._tables["candidates"].add(row)

    def close(self) -> None:
        if self.closed:
            return
        for table in self._tables.values():
            table.close()
        self.closed = True

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_tracer(traces_dir: str | os.PathLike, rank: int = 0, steps: bool = True) -> Tracer:
    """The orchestration's factory: one tracer per process, closed at the end of the run."""
    return Tracer(traces_dir, rank=rank, steps=steps)


def merge_ranks(traces_dir: str | os.PathLike) -> None:
    """Fold `<name>.rank<r>.parquet` files into `<name>.parquet` (atomic), removing the parts."""
    d = Path(traces_dir)
    for name, schema in TABLES.items():
        parts = sorted(d.glob(f"{name}.rank*.parquet"))
        if not parts:
            continue
        main = d / f"{name}.parquet"
        tables = [
            pq.read_table(p, schema=schema) for p in ([main] if main.exists() else []) + parts
        ]
        tmp = main.with_name(main.name + ".tmp")
        pq.write_table(pa.concat_tables(tables), tmp)
        os.replace(tmp, main)
        for p in parts:
            p.unlink()


def read_traces(traces_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Every trace table present under `traces_dir` as a DataFrame, keyed by table name."""
    d = Path(traces_dir)
    return {
        name: pq.read_table(d / f"{name}.parquet").to_pandas()
        for name in TABLES
        if (d / f"{name}.parquet").exists()
    }
