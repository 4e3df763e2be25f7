"""Loggers of a finished evaluation: W&B (offline by default), CSV, or none.

The run dir is the source of truth; a tracker only mirrors it. Every tracker is used as a context
manager so `wandb.finish()` runs after each job, also when it fails (multirun hygiene).
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

from tie.runs.errors import RunConfigError
from tie.runs.store import atomic_write_text

LOGGER_KINDS = ("wandb", "csv", "none")
# Offline artifacts are staged under WANDB_DATA_DIR (default: the home dir), so unless the user
# chose one, stage them inside the run dir: `wandb sync` then finds them wherever the run dir goes.
_USER_DATA_DIR = os.environ.get("WANDB_DATA_DIR")

TABLE_COLUMNS = (
    "id",
    "method",
    "category",
    "prediction",
    "extracted",
    "correct",
    "selected_model",
    "nfe",
    "wall_s",
)


def flat_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """`<method>/<field>` scalars for dashboards."""
    out: dict[str, Any] = {}
    for m, s in metrics["methods"].items():
        for key in ("accuracy", "n", "n_correct", "nfe_mean", "wall_s"):
            out[f"{m}/{key}"] = s[key]
        out[f"{m}/ci95_low"], out[f"{m}/ci95_high"] = s["ci95"]
    for m, c in metrics["comparisons"].items():
        out[f"{m}/delta_vs_best_single"] = c["delta"]
        out[f"{m}/mcnemar_p"] = c["mcnemar_p"]
    out["best_single"] = metrics.get("best_single")
    for direction, ratio, s in injection_rows(metrics):
        for key in ("correction_rate", "n_eligible", "n_corrected", "n_broken"):
            out[f"injection/{direction}/r={ratio}/{key}"] = s[key]
    return out


def injection_rows(metrics: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(direction, ratio, summary) of mode=inject's `metrics["injection"]` (empty otherwise)."""
    return [
        (direction, ratio, s)
        for direction, by_ratio in (metrics.get("injection") or {}).items()
        for ratio, s in by_ratio.items()
    ]


class NoTracker:
    def __enter__(self) -> NoTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def log_results(
        self, metrics: dict[str, Any], rows: list[dict[str, Any]], traces: Path
    ) -> None:
        return None


class CsvTracker(NoTracker):
    """metrics.csv: one row per method (accuracy, ci95, cost, delta vs the best single model) and
    the relay interval n it ran at (`metrics.json` `methods.<m>.interval`), so sweeps stay apart."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def log_results(
        self, metrics: dict[str, Any], rows: list[dict[str, Any]], traces: Path
    ) -> None:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["method", "interval", "accuracy", "ci95_low", "ci95_high", "n", "n_correct",
                    "nfe_mean", "wall_s", "delta_vs_best_single", "mcnemar_p"])  # fmt: skip
        for m, s in metrics["methods"].items():
            c = metrics["comparisons"].get(m, {})
            w.writerow([m, s.get("interval", ""), s["accuracy"], *s["ci95"], s["n"],
                        s["n_correct"], s["nfe_mean"], s["wall_s"], c.get("delta", ""),
                        c.get("mcnemar_p", "")])  # fmt: skip
        atomic_write_text(self.run_dir / "metrics.csv", buf.getvalue())
        if metrics.get("injection"):  # injection.csv: one row per (direction, ratio)
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(["direction", "ratio", "correction_rate", "ci95_low", "ci95_high",
                        "n_eligible", "n_corrected", "n_broken", "n_problems"])  # fmt: skip
            for direction, ratio, s in injection_rows(metrics):
                w.writerow([direction, ratio, s["correction_rate"], *s["ci95"], s["n_eligible"],
                            s["n_corrected"], s["n_broken"], s["n_problems"]])  # fmt: skip
            atomic_write_text(self.run_dir / "injection.csv", buf.getvalue())


def sweep_job() -> dict[str, Any] | None:
    """{sweep, num, overrides} of the Hydra multirun job running now; None outside a sweep."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ValueError, ImportError):
        return None
    if hc.mode != RunMode.MULTIRUN:
        return None
    sweep_dir = Path(str(hc.sweep.dir))
    swept = swept_keys(sweep_dir / "multirun.yaml")
    mine = [str(o) for o in hc.overrides.task]
    point = [o for o in mine if o.split("=", 1)[0].lstrip("+~") in swept]
    return {
        "sweep": sweep_dir.name,
        "num": hc.job.get("num"),
        "overrides": ",".join(point) or str(hc.job.get("override_dirname") or ""),
    }


def swept_keys(multirun_yaml: Path) -> set[str]:
    """The keys a sweep varies, from the overrides Hydra saved in `multirun.yaml` (parsed by
    Hydra's own override parser)."""
    if not multirun_yaml.is_file():
        return set()
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    given = OmegaConf.load(multirun_yaml).hydra.overrides.task
    parsed = OverridesParser.create().parse_overrides([str(o) for o in given])
    return {o.get_key_element().lstrip("+~") for o in parsed if o.is_sweep_override()}


def run_labels(logger_cfg: dict[str, Any], task: str, run_dir: Path) -> dict[str, Any]:
    """W&B group / job_type / name. Explicit logger values win; otherwise a job of a `-m` sweep
    is grouped with its sweep (`<task>-<sweep folder>`), typed by its overrides (the sweep point)
    and named `<group>-<job number>`, so a report compares one sweep's runs; a plain run is
    grouped by task, typed `evaluate`, named `<task>-<run dir name>`."""
    job = sweep_job()
    if job is None:
        group, job_type, name = task, "evaluate", f"{task}-{run_dir.name}"
    else:
        group = f"{task}-{job['sweep']}"
        job_type = (job["overrides"] or "evaluate")[:64]  # W&B's limit on job_type
        name = f"{logger_cfg.get('group') or group}-{job['num']}"
    return {
        "group": logger_cfg.get("group") or group,
        "job_type": logger_cfg.get("job_type") or job_type,
        "name": logger_cfg.get("name") or name,
    }


class WandbTracker(NoTracker):
    """One W&B run per job; its id is stored in the run dir so a resumed job reuses it."""

    def __init__(self, run_dir: Path, logger_cfg: dict[str, Any], config: dict[str, Any]):
        self.run_dir, self.cfg, self.config = run_dir, logger_cfg, config
        self.run = None

    def __enter__(self) -> WandbTracker:
        import wandb

        id_file = self.run_dir / "wandb_id.txt"
        if id_file.exists():
            run_id = id_file.read_text().strip()
        else:
            run_id = uuid.uuid4().hex[:12]
            atomic_write_text(id_file, run_id + "\n")
        os.environ["WANDB_DATA_DIR"] = _USER_DATA_DIR or str(self.run_dir / "wandb" / "data")
        labels = run_labels(self.cfg, self.config["task"]["name"], self.run_dir)
        self.run = wandb.init(
            mode=self.cfg.get("mode") or "offline",
            project=self.cfg.get("project"),
            entity=self.cfg.get("entity"),
            tags=list(self.cfg.get("tags") or []),
            **labels,
            dir=str(self.run_dir),
            config=self.config,
            id=run_id,
            resume="allow",
            reinit="finish_previous",
        )
        # which group / job type to filter on in a report, without opening W&B
        atomic_write_text(
            self.run_dir / "wandb_run.json",
            json.dumps({"id": run_id, "project": self.cfg.get("project"), **labels}) + "\n",
        )
        return self

    def log_results(
        self, metrics: dict[str, Any], rows: list[dict[str, Any]], traces: Path
    ) -> None:
        import wandb

        self.run.summary.update(flat_summary(metrics))
        cap = int(self.cfg.get("table_rows") or len(rows))
        table = wandb.Table(columns=list(TABLE_COLUMNS))
        for r in rows[:cap]:
            table.add_data(
                *[r.get(c) if c != "extracted" else str(r.get(c)) for c in TABLE_COLUMNS]
            )
        self.run.log({"predictions": table})
        if traces.exists() and any(traces.iterdir()):
            art = wandb.Artifact(f"traces-{self.run.id}", type="eval-traces")
            art.add_dir(str(traces))
            self.run.log_artifact(art)
        if self.cfg.get("report", True):  # the paper's figures and tables, as charts and images
            from analysis.wandb_report import log_report

            log_report(self.run, self.run_dir, cap)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.run is not None:
            self.run.finish(exit_code=1 if exc_type else 0)
            self.run = None


def make_tracker(logger_cfg: dict[str, Any], run_dir: Path, config: dict[str, Any]) -> NoTracker:
    kind = logger_cfg.get("kind")
    if kind == "wandb":
        return WandbTracker(run_dir, logger_cfg, config)
    if kind == "csv":
        return CsvTracker(run_dir)
    if kind == "none":
        return NoTracker()
    raise RunConfigError(f"unknown logger.kind {kind!r}; valid: {list(LOGGER_KINDS)}")
