"""`tie-run mode=evaluate` (and mode=inject: the same plus the injection study per chunk):
validate, decode the remaining chunks with Lightning, merge, score, log.

Order matters: every check that can fail (config, task data, options) runs before any model
decodes; rank 0 alone writes metadata, merges, computes metrics and talks to W&B.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from tie.runs.api import Api
from tie.runs.errors import RunConfigError
from tie.runs.meta import resolved_config, restore_hydra_files, save_hydra_files, write_run_metadata
from tie.runs.metrics import compute_metrics, injection_metrics
from tie.runs.plan import DATA_KEYS, RunPlan, build_plan, check_models, default_data_dir
from tie.runs.report import print_summary
from tie.runs.store import (
    CALIBRATION_FILE,
    PredictionStore,
    atomic_write_json,
    disk_full_as_one_line,
    make_chunks,
)
from tie.runs.threads import apply_threads
from tie.runs.tracking import make_tracker
from tie.tasks.base import TaskDataError

# Lightning (and tie.lit, built on it) is imported only once every check has passed, so a config
# error is reported in a fraction of a second instead of after Lightning's import (6-15 s).
if TYPE_CHECKING:
    import pytorch_lightning as pl

TRAINER_KEYS = ("accelerator", "devices", "num_nodes", "strategy", "precision")


def load_rows(task: Any, limit: int | None) -> list[dict[str, Any]]:
    """The task's problems in dataset order (first `limit`), each tagged with its `_index`."""
    data = task.load()
    n = len(data) if limit is None else min(limit, len(data))
    rows = [{**dict(data[i]), "_index": i} for i in range(n)]
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise RunConfigError(f"task {task.name!r} has duplicate problem ids")
    return rows


def load_task_rows(cfg: DictConfig, plan: RunPlan, task: Any) -> list[dict[str, Any]]:
    """`load_rows`; when no data folder was found, the error says where tie-run looked."""
    try:
        return load_rows(task, plan.limit)
    except TaskDataError as err:
        default = default_data_dir(cfg)
        if default is None or any(k in plan.task_options for k in DATA_KEYS):
            raise
        raise TaskDataError(
            f"{err} tie-run looked for the folder {default} (set TIE_DATA_DIR or paths.data_dir "
            f"to the folder holding {default.name}/, or task.options.data_dir=<folder>)"
        ) from err


def calibration_set(plan: RunPlan, api: Api, task: Any, rows: list[dict]) -> Any:
    """ensemble.options.calibration=fit: (held-out task, its rows), checked disjoint from `rows`
    (by id and by prompt) before any model loads; None without fit."""
    if not plan.fits_calibration:
        return None
    if api.fit_calibration is None:
        raise RunConfigError(
            f"ensemble.options.calibration=fit: the api {api!r} has no fit_calibration"
        )
    cal = plan.calibration_data
    cal_task = api.get_task(plan.task_name, **{**plan.task_options, **cal["task_options"]})
    cal_rows = load_rows(cal_task, cal["limit"])
    ids = {str(r["id"]) for r in rows}
    prompts = {task.build_prompt(r) for r in rows}
    shared = [
        r["id"] for r in cal_rows if str(r["id"]) in ids or cal_task.build_prompt(r) in prompts
    ]
    if shared:
        raise RunConfigError(
            f"calibration set {cal['task_options']} overlaps the evaluated problems ({len(shared)} "
            f"shared, e.g. {shared[:3]}): set ensemble.calibration_data.task_options to a held-out "
            "split"
        )
    return cal_task, cal_rows


def make_trainer(cfg: DictConfig, callbacks: list[pl.Callback]) -> pl.Trainer:
    import pytorch_lightning as pl

    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    # Lightning's own use of a torch API torch deprecated: nothing a user can act on
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
    )
    kwargs = {
        k: v
        for k, v in OmegaConf.to_container(cfg.trainer, resolve=True).items()
        if k in TRAINER_KEYS
    }
    return pl.Trainer(
        **kwargs,
        logger=False,
        callbacks=callbacks,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        use_distributed_sampler=True,
    )


def check_multirun_ddp(cfg: DictConfig) -> None:
    """In-process multirun + DDP breaks (Lightning relaunches ranks with the sweep argv)."""
    if "ddp" not in str(cfg.trainer.get("strategy", "")):
        return
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except ValueError:  # composed without @hydra.main
        return
    if hc.mode == RunMode.MULTIRUN and "submitit" not in str(hc.launcher.get("_target_", "")):
        raise RunConfigError(
            "trainer=ddp/ddp_cpu cannot run inside a local multirun (-m); launch each job on its "
            "own (one tie-run per config) or use launcher=submitit (SLURM creates the ranks)"
        )


def evaluate(cfg: DictConfig, api: Api) -> dict[str, Any]:
    """Run (or resume) one evaluation job; returns metrics (empty dict on ranks > 0)."""
    threads = apply_threads(cfg.get("threads"), cfg.get("trainer"))  # before any work
    check_multirun_ddp(cfg)
    plan = build_plan(cfg)
    check_models(plan, api, cfg)  # zoo names, checkpoint dirs: before anything is written
    run_dir = Path(cfg.paths.output_dir)

    task = api.get_task(plan.task_name, **plan.task_options)  # unknown task -> error here
    rows = load_task_rows(cfg, plan, task)  # missing / malformed data -> error here
    for method in plan.methods:  # unknown option names / values -> error before any model loads
        api.make_options(plan.method_options(method))
    api.make_decode_config(dict(plan.decode))
    # every canvas from the tokenizers and config alone: block grid, suffix room, context
    from tie.runs.canvas import check_canvases  # the decoding stack: only once the config passed

    canvases = check_canvases(plan, api, task, rows)
    calibration = calibration_set(plan, api, task, rows)  # held-out rows, before any model loads
    if plan.injection_ratios and api.run_injection is None:
        raise RunConfigError(f"mode=inject: the api {cfg.api!r} has no run_injection")
    logger_cfg = OmegaConf.to_container(cfg.logger, resolve=True)
    tracker = make_tracker(logger_cfg, run_dir, resolved_config(cfg))  # unknown kind -> error now

    # every check passed: now Lightning (the tasks above draw from their own seeded RNGs)
    import pytorch_lightning as pl
    from pytorch_lightning.utilities import rank_zero_only

    from tie.lit.datamodule import TaskDataModule
    from tie.lit.module import EnsemblePredictModule
    from tie.lit.progress import RunProgress
    from tie.lit.writer import ChunkPredictionWriter

    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    store = PredictionStore(run_dir)
    chunks = make_chunks(rows, plan.batch_size)
    fingerprint = {**dataclasses.asdict(plan), "n_problems": len(rows)}
    fingerprint.pop("devices")
    fingerprint.pop("placement")
    if not plan.injection_ratios:  # plain runs keep the fingerprint of runs made before mode=inject
        fingerprint.pop("injection_ratios")
    if not plan.calibration_data:  # likewise for runs made before calibration=fit
        fingerprint.pop("calibration_data")
    is_zero = rank_zero_only.rank == 0
    if is_zero:
        try:
            resumed = store.check_plan(fingerprint)
        except RunConfigError:
            restore_hydra_files(run_dir)  # a refused resume leaves .hydra/ as it was
            raise
        save_hydra_files(run_dir)
        extra = {
            "methods": plan.methods,
            "n_problems": len(rows),
            "resumed": resumed,
            "threads": threads,
        }
        if canvases:
            extra["canvas"] = canvases
        if getattr(task, "sandbox_isolation", None):  # code tasks: how generated code was confined
            extra["code_sandbox"] = task.sandbox_isolation
        if plan.injection_ratios:
            extra["injection"] = {
                "directions": [f"{a}->{b}" for a, b in plan.injection_directions],
                "ratios": plan.injection_ratios,
            }
        write_run_metadata(run_dir, cfg, extra)
    done = store.done_chunks()
    remaining = [c for c in chunks if c.index not in done]
    n_done = sum(len(c.rows) for c in chunks if c.index in done)

    if remaining:
        traces = run_dir / "traces" if cfg.tracing.enabled else None
        module = EnsemblePredictModule(
            plan,
            api,
            task,
            traces_dir=traces,
            calibration=calibration,
            calibration_out=run_dir / CALIBRATION_FILE,
        )
        callbacks: list[pl.Callback] = [ChunkPredictionWriter(store)]
        if cfg.get("progress", True):
            every = float(cfg.get("progress_every_s") or 30.0)
            callbacks.append(
                RunProgress(len(rows), n_done, plan.task_name, every_s=every, methods=plan.methods)
            )
        trainer = make_trainer(cfg, callbacks)
        trainer.predict(
            module,
            datamodule=TaskDataModule(remaining, int(cfg.data.num_workers)),
            return_predictions=False,
        )
        if not trainer.is_global_zero:
            return {}
    elif not is_zero:
        return {}

    with disk_full_as_one_line(run_dir):  # parts stay intact; a rerun merges again
        traces_dir = run_dir / "traces"
        if api.merge_traces is not None and traces_dir.exists():
            api.merge_traces(traces_dir)
        merged = store.merge(len(rows), plan.methods)
        metrics = compute_metrics(merged, plan.methods, int(cfg.stats.n_boot), int(cfg.seed))
        for m in plan.methods:
            metrics["methods"][m]["interval"] = plan.interval(m)
        metrics["interval"] = plan.options["interval"]
        metrics["task"] = plan.task_name
        if (run_dir / CALIBRATION_FILE).exists():  # calibration=fit: the fitted temperatures
            metrics["calibration"] = json.loads((run_dir / CALIBRATION_FILE).read_text())
        if plan.injection_ratios:
            records = store.merge_injection(
                len(rows), plan.injection_directions, plan.injection_ratios
            )
            metrics["injection"] = injection_metrics(records, int(cfg.stats.n_boot), int(cfg.seed))
        atomic_write_json(run_dir / "metrics.json", metrics)
    with tracker:
        tracker.log_results(metrics, merged, run_dir / "traces")
    print_summary(metrics, f"{plan.task_name} ({run_dir})")
    return metrics
