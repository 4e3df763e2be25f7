"""Read a run directory into pandas frames, and find the runs of a sweep.

A run directory is the source of truth (see `docs/CONTRACTS.md`); this module is the only place
that knows its file names, so the studies stay independent of the layout.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.json"
CONFIGS = ("config.yaml", ".hydra/config.yaml")  # resolved by tie-run first, then Hydra's own
TRACES = "traces"
PREDICTION_COLUMNS = ("id", "method", "correct")


class RunDirError(ValueError):
    """A run directory is missing a file or a column a study needs; the message names it."""


@dataclass
class RunDir:
    """Lazy, cached access to the files of one run directory."""

    path: Path
    _traces: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_dir():
            raise RunDirError(f"run directory {str(self.path)!r} does not exist")
        if not (self.path / PREDICTIONS).is_file():
            raise RunDirError(f"{str(self.path)!r} is not a run directory: no {PREDICTIONS}")

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """One row per (`id`, `method`); `id` as str so it joins with the traces."""
        file = self.path / PREDICTIONS
        rows = []
        for lineno, line in enumerate(file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RunDirError(f"{file}:{lineno}: not valid JSON ({exc.msg})") from exc
        frame = pd.DataFrame(rows)
        require_columns(frame, PREDICTION_COLUMNS, file)
        frame["id"] = frame["id"].astype(str)
        frame["correct"] = frame["correct"].astype(bool)
        if frame.duplicated(["id", "method"]).any():
            dup = frame[frame.duplicated(["id", "method"])].iloc[0]
            raise RunDirError(
                f"{file}: duplicate row for id={dup['id']!r} method={dup['method']!r}"
            )
        return frame

    @cached_property
    def metrics(self) -> dict[str, Any]:
        file = self.path / METRICS
        return json.loads(file.read_text()) if file.is_file() else {}

    @cached_property
    def config(self) -> dict[str, Any]:
        """The run's config (plain YAML, resolved when tie-run wrote it); empty when it has none."""
        for name in CONFIGS:
            file = self.path / name
            if file.is_file():
                return yaml.safe_load(file.read_text()) or {}
        return {}

    def cfg(self, dotted: str, default: Any = None) -> Any:
        """A config value by dotted path, e.g. `run.cfg("ensemble.interval")`."""
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def task(self) -> str:
        """Task name from the config, else from the predictions' directory name."""
        return str(self.cfg("task.name", default=self.path.name))

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.predictions["method"]))

    @property
    def label(self) -> str:
        """Where the rows come from, for the results frame (a derived run says how)."""
        return str(self.path)

    def method_interval(self, method: str) -> Any:
        """The ensemble interval n `method` ran at: `metrics.json` `methods.<m>.interval` when
        tie-run wrote it, else `ensemble.per_method.<m>.interval`, else `ensemble.interval` (so
        tie:tcc at n = 32 beside top-1 at n = 16 in one run is not read as n = 16)."""
        logged = ((self.metrics.get("methods") or {}).get(method) or {}).get("interval")
        if logged is not None:
            return logged
        per_method = self.cfg("ensemble.per_method") or {}
        if isinstance(per_method, dict) and "interval" in (per_method.get(method) or {}):
            return per_method[method]["interval"]
        return self.cfg("ensemble.interval")

    def has_trace(self, name: str) -> bool:
        return (self.path / TRACES / f"{name}.parquet").is_file()

    def trace(self, name: str) -> pd.DataFrame:
        """`traces/<name>.parquet` with `id` as str; a clear error when the run has none."""
        if name not in self._traces:
            file = self.path / TRACES / f"{name}.parquet"
            if not file.is_file():
                raise RunDirError(
                    f"{str(self.path)!r} has no traces/{name}.parquet (was tracing enabled?)"
                )
            frame = pd.read_parquet(file)
            if "id" in frame.columns:
                frame["id"] = frame["id"].astype(str)
            self._traces[name] = frame
        return self._traces[name]  # type: ignore[return-value]


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], where: Any) -> None:
    """Raise naming the missing columns and the file they were expected in."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RunDirError(f"{where}: missing column(s) {missing}; has {sorted(frame.columns)}")


def _natural_key(path: Path) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(path))]


def find_runs(root: str | Path) -> list[Path]:
    """`root` itself if it is a run directory, else every run directory below it (a sweep)."""
    root = Path(root)
    if not root.exists():
        raise RunDirError(f"{str(root)!r} does not exist")
    if (root / PREDICTIONS).is_file():
        return [root]
    found = sorted((p.parent for p in root.rglob(PREDICTIONS)), key=_natural_key)
    if not found:
        raise RunDirError(f"no run directory (a folder with {PREDICTIONS}) under {str(root)!r}")
    return found


def load_runs(root: str | Path) -> list[RunDir]:
    return [RunDir(p) for p in find_runs(root)]


def study_parser(doc: str) -> argparse.ArgumentParser:
    """The command line every study shares: a run (or sweep) directory and an output folder."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("run", help="run directory, or a sweep folder holding several")
    parser.add_argument("--out", help="output folder (default: <run>/figures)")
    return parser


def run_study(parser: argparse.ArgumentParser, study: Callable[[], list[Path]]) -> None:
    """Print the files a study wrote; a bad run directory exits 2 with the reason."""
    try:
        for path in study():
            print(path)
    except RunDirError as exc:
        parser.exit(2, f"error: {exc}\n")


# Tasks whose rows are a subset of another task's, derived from its predictions by category:
# MMLU* = the paper's 35 MMLU subjects (tie.tasks.multiple_choice.MMLU_STAR_SUBJECTS, the filter
# the `mmlu_star` task applies when it loads), so a sweep decodes MMLU once and reports both.
def _derived_tasks() -> dict[str, list[tuple[str, frozenset[str]]]]:
    from tie.tasks.multiple_choice import MMLU_STAR_SUBJECTS

    return {"mmlu": [("mmlu_star", MMLU_STAR_SUBJECTS)]}


class SubsetRun(RunDir):
    """A task derived from another run's predictions by category (e.g. MMLU* from MMLU).

    Same directory and config as its parent; `task` is the derived name, `predictions` (and any
    trace) keep only the rows of the subset's problems."""

    def __init__(self, parent: RunDir, task: str, categories: frozenset[str]):
        super().__init__(parent.path)
        self.parent, self.subset_task, self.categories = parent, task, categories

    @property
    def task(self) -> str:
        return self.subset_task

    @property
    def label(self) -> str:
        return f"{self.path} ({self.subset_task} by subject from {self.parent.task})"

    @cached_property
    def predictions(self) -> pd.DataFrame:  # type: ignore[override]
        preds = self.parent.predictions
        require_columns(preds, ("category",), self.path / PREDICTIONS)
        return preds[preds["category"].astype(str).isin(self.categories)].reset_index(drop=True)

    def trace(self, name: str) -> pd.DataFrame:
        frame = self.parent.trace(name)
        if "id" not in frame.columns:
            return frame
        return frame[frame["id"].isin(set(self.predictions["id"]))].reset_index(drop=True)

    def has_trace(self, name: str) -> bool:
        return self.parent.has_trace(name)


def with_derived(runs: list[RunDir]) -> list[RunDir]:
    """`runs` plus, right after each run of a task with derived subsets (MMLU), one SubsetRun per
    subset (MMLU*) that has rows; a subset task some run decoded directly is not derived."""
    derived = _derived_tasks()
    direct = {run.task for run in runs}
    out: list[RunDir] = []
    for run in runs:
        out.append(run)
        for task, categories in derived.get(run.task, []):
            if task in direct:
                continue
            sub = SubsetRun(run, task, categories)
            if len(sub.predictions):
                out.append(sub)
    return out
