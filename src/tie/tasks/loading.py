"""Raw benchmark rows from local files or the Hugging Face hub, with errors that say what to do.

Local files (json / jsonl / parquet / csv) are read here directly rather than through
`datasets.load_dataset("json", ...)`: it is faster, needs no cache directory, and lets a malformed
line be reported by file and line number. The hub is used only when no local file is given and
the hub is not switched off (`HF_HUB_OFFLINE` / `HF_DATASETS_OFFLINE`).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tie.tasks.base import TaskDataError

LOCAL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".parquet", ".csv")


@dataclass(frozen=True)
class DataSource:
    """Where a benchmark's rows live: the hub id and the local file a user can provide instead."""

    hub_id: str
    hub_config: str | None
    split: str
    local_names: tuple[str, ...]  # file names looked for inside `data_dir`
    how_to_get: str  # one sentence telling the user where to get the file


def hub_offline() -> bool:
    """True when the environment forbids hub access."""
    flags = (os.environ.get(k, "") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return any(v.strip().lower() in ("1", "true", "yes", "on") for v in flags)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    rows: list[dict[str, Any]] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise TaskDataError(f"{path}: line {lineno} is not valid JSON ({err.msg})") from err
            if not isinstance(row, dict):
                raise TaskDataError(f"{path}: line {lineno} is not a JSON object")
            rows.append(row)
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise TaskDataError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from err
    if isinstance(data, dict):  # {"data": [...]} / {"rows": [...]} / {"test": [...]}
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise TaskDataError(f"{path}: expected a list of rows or an object with one list")
        data = lists[0]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TaskDataError(f"{path}: expected a JSON list of objects")
    return data


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise TaskDataError(f"{path}: cannot read parquet ({err})") from err


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_local_file(path: str | Path) -> list[dict[str, Any]]:
    """Rows of one local file, chosen by suffix; TaskDataError names the file when it is bad."""
    path = Path(path)
    if not path.is_file():
        raise TaskDataError(f"data file {path} does not exist")
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _read_jsonl(path)
    if name.endswith(".json"):
        return _read_json(path)
    if name.endswith(".parquet"):
        return _read_parquet(path)
    if name.endswith(".csv"):
        return _read_csv(path)
    raise TaskDataError(f"{path}: unsupported file type; use one of {', '.join(LOCAL_SUFFIXES)}")


def _missing(source: DataSource, where: str) -> TaskDataError:
    names = " or ".join(source.local_names)
    return TaskDataError(
        f"no data for {source.hub_id} ({source.split} split): {where}. Expected a local file "
        f"{names} (pass data_files=... or data_dir=...). {source.how_to_get}"
    )


def load_raw_rows(
    source: DataSource,
    data_files: str | Path | Sequence[str | Path] | None = None,
    data_dir: str | Path | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """The raw rows and a label of where they came from (file path or hub id).

    Order of preference: explicit `data_files`, then a known file name inside `data_dir`, then
    the hub (unless offline). Raises TaskDataError naming the expected file when none works.
    """
    if data_files is not None:
        files = [data_files] if isinstance(data_files, str | Path) else list(data_files)
        if not files:
            raise TaskDataError("data_files is empty")
        rows: list[dict[str, Any]] = []
        for f in files:
            if not Path(f).is_file():
                raise _missing(source, f"data file {f} does not exist")
            rows.extend(read_local_file(f))
        return rows, ", ".join(str(f) for f in files)
    if data_dir is not None:
        directory = Path(data_dir)
        for name in source.local_names:
            if (directory / name).is_file():
                return read_local_file(directory / name), str(directory / name)
        raise _missing(source, f"none of the expected files is in {directory}")
    if hub_offline():
        raise _missing(source, "the hub is offline (HF_HUB_OFFLINE=1) and no local file was given")
    return _load_from_hub(source), source.hub_id


def _load_from_hub(source: DataSource) -> list[dict[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(source.hub_id, source.hub_config, split=source.split)
    except Exception as err:  # network, auth, missing config: all mean "no data here"
        raise _missing(
            source, f"loading from the hub failed ({type(err).__name__}: {err})"
        ) from err
    return dataset.to_list()
