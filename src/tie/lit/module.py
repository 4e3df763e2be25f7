"""Predict-only LightningModule: `predict_step` runs every configured method on one chunk
(and, with mode=inject, the injection study in every direction on the same chunk).

Backends are loaded in `setup`, on the rank's own device (or one device per constituent with
placement=per_model), so the same module serves 1 CPU process, DDP on CPU, and multi-GPU DDP.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from tie.ensemble.concurrent import members_for
from tie.runs.api import Api, quiet_weight_loading
from tie.runs.decode import torch_dtype
from tie.runs.errors import RunConfigError
from tie.runs.plan import RunPlan, needs_cross_model_tokenizers
from tie.runs.store import CALIBRATION_FILE  # noqa: F401 - re-exported (was defined here)


def _plain(value: Any) -> Any:
    """JSON-friendly copy of engine outputs (dataclasses, tensors, tuples)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


log = logging.getLogger(__name__)


class RoundWatcher:
    """Tracer proxy: forwards everything, and reports calls about rounds to the progress bar."""

    def __init__(self, tracer: Any, hook: Callable[..., None]):
        self._tracer, self._hook = tracer, hook

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._tracer, name)
        if "round" not in name or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            row = args[0] if args and isinstance(args[0], dict) else kwargs
            r = row.get("round", row.get("round_idx"))
            self._hook(round=r if isinstance(r, int) else None)
            return attr(*args, **kwargs)

        return call


class EnsemblePredictModule(pl.LightningModule):
    def __init__(
        self,
        plan: RunPlan,
        api: Api,
        task: Any,
        traces_dir: Any = None,
        calibration: tuple[Any, list[dict]] | None = None,
        calibration_out: Any = None,
    ):
        super().__init__()
        self.plan, self.api, self.task, self.traces_dir = plan, api, task, traces_dir
        # ensemble.options.calibration=fit: (held-out task, rows) fitted on in setup
        self.calibration, self.calibration_out = calibration, calibration_out
        self.temperatures: dict[str, float] | None = None
        self.constituents: list[Any] = []
        self.options: dict[str, Any] = {}
        self.injection_options: Any = None
        self.status_hook: Callable[..., None] = lambda **_: None

    def _device_for(self, i: int, explicit: str | None) -> str:
        if explicit:
            return explicit
        root = self.trainer.strategy.root_device
        if self.plan.placement == "per_model":
            if self.plan.devices:
                return str(self.plan.devices[i])
            if root.type != "cuda":
                # the paper's overlays say per_model (one GPU per model); without GPUs every
                # constituent shares the CPU (still one worker each), and the run says so once
                if i == 0:
                    logging.getLogger(__name__).warning(
                        "placement=per_model on %s: no GPU, every constituent on %s (members "
                        "decode concurrently, one worker each)",
                        root,
                        root,
                    )
                return str(root)
            index = self.trainer.local_rank * len(self.plan.models) + i
            if index >= torch.cuda.device_count():
                raise RunConfigError(
                    f"placement=per_model needs {len(self.plan.models)} GPUs per process "
                    f"(cuda:{index} for constituent {i}), found {torch.cuda.device_count()}: "
                    "set devices=[...] or placement=shared"
                )
            return f"cuda:{index}"
        return str(root)

    def setup(self, stage: str) -> None:
        self.constituents = []
        quiet_weight_loading()
        for i, spec in enumerate(self.plan.models):
            t0 = time.perf_counter()
            device = self._device_for(i, spec.device)
            backend = self.api.load_backend(spec.spec, device=device, dtype=torch_dtype(spec.dtype))
            log.info("loaded %s on %s in %.1f s", spec.name, device, time.perf_counter() - t0)
            decode = self.api.make_decode_config(dict(self.plan.decode))
            self.constituents.append(self.api.make_constituent(spec.name, backend, decode))
        if self.api.check_methods is not None:  # e.g. avg:* on different tokenizers
            try:
                self.api.check_methods(list(self.plan.methods), self.constituents)
            except ValueError as exc:
                raise RunConfigError(str(exc)) from exc
        if self.plan.fits_calibration:
            self.temperatures = self.fit_temperatures()
        temps = self.temperatures
        self.options = {
            m: self.api.make_options(self.plan.method_options(m, temps)) for m in self.plan.methods
        }
        base = {k: v for k, v in self.plan.options.items() if k != "calibration"}
        if "calibration" in self.plan.options:
            base["calibration"] = (
                temps if self.plan.fits_calibration else self.plan.options["calibration"]
            )
        self.injection_options = self.api.make_options(base)
        if needs_cross_model_tokenizers(self.plan):
            missing = [
                c.name for c in self.constituents if getattr(c.backend, "tokenizer", None) is None
            ]
            if missing:
                raise RunConfigError(
                    f"cross-model scoring needs a tokenizer for every constituent; {missing} have "
                    "none (set ensemble.options.cross_model=false or use tie:tcc)"
                )

    def fit_temperatures(self) -> dict[str, float]:
        """Fit {model: T} on the held-out rows (every rank fits the same; rank 0 records it)."""
        if self.calibration is None or self.api.fit_calibration is None:
            raise RunConfigError("ensemble.options.calibration=fit needs a calibration set")
        cal_task, cal_rows = self.calibration
        bounds = tuple(self.plan.calibration_data["bounds"])
        t0 = time.perf_counter()
        temps = {
            str(k): float(v)
            for k, v in self.api.fit_calibration(
                self.constituents, cal_task, cal_rows, bounds=bounds
            ).items()
        }
        if self.calibration_out is not None and self.global_rank == 0:
            record = {
                "temperatures": temps,
                "bounds": list(bounds),
                "task_options": self.plan.calibration_data["task_options"],
                "n_rows": len(cal_rows),
                "ids": [str(r["id"]) for r in cal_rows],
                "wall_s": time.perf_counter() - t0,
            }
            out = Path(self.calibration_out)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=1))
            tmp.replace(out)
        return temps

    def _chunk_tracer(self, chunk: int) -> Any:
        """One tracer per chunk (file suffix = chunk + 1), closed with the chunk, so traces are
        committed exactly like predictions: a resumed chunk rewrites its own file, no duplicates."""
        if self.traces_dir is None or self.api.make_tracer is None:
            return None
        steps = bool(self.plan.options.get("trace_steps", True))
        return self.api.make_tracer(self.traces_dir, rank=chunk + 1, steps=steps)

    def _decode_share(self) -> Any:
        """A DecodeShare when both `post` and `single:<m>` methods run (post reuses the
        single:<m> decodes of the chunk: tie.ensemble.methods.DecodeShare), else None."""
        methods = self.plan.methods
        if "post" not in methods or not any(m.startswith("single:") for m in methods):
            return None
        from tie.ensemble.methods import DecodeShare

        return DecodeShare()

    def predict_step(self, batch: dict[str, Any], batch_idx: int = 0) -> dict[str, Any]:
        rows = batch["rows"]
        prompts = [self.task.build_prompt(r) for r in rows]
        out_rows: list[dict[str, Any]] = []
        raw_tracer = self._chunk_tracer(int(batch["chunk"]))
        tracer = RoundWatcher(raw_tracer, self.status_hook) if raw_tracer is not None else None
        share = self._decode_share()  # post reuses the single:<m> decodes of this chunk
        for method in self.plan.methods:
            self.status_hook(method=method)
            t0 = time.perf_counter()
            outs = self.api.run_method(
                method,
                self.constituents,
                prompts,
                self.task,
                self.options[method],
                tracer=tracer,
                rows=rows,
                share=share,
                members=members_for(self.plan.placement),  # tie.ensemble.concurrent
            )
            elapsed = time.perf_counter() - t0
            if len(outs) != len(rows):
                raise RuntimeError(f"{method}: {len(outs)} outputs for {len(rows)} problems")
            for row, out in zip(rows, outs):
                extracted, correct = self.task.score(out.prediction, row)
                wall = getattr(out, "wall_s", None)
                out_rows.append(
                    {
                        "index": row["_index"],
                        "id": row["id"],
                        "method": method,
                        "prediction": out.prediction,
                        "extracted": extracted,
                        "correct": bool(correct),
                        "gold": row.get("gold"),
                        "category": row.get("category"),
                        "selected_model": getattr(out, "selected_model", None),
                        "nfe": int(getattr(out, "nfe", 0) or 0),
                        "wall_s": float(wall if wall is not None else elapsed / len(rows)),
                        "reasoning": getattr(out, "reasoning", None),
                        "leaders": _plain(getattr(out, "leaders", None)),
                        "candidates": _plain(getattr(out, "candidates", None)),
                        "budget_exit": bool((getattr(out, "extra", None) or {}).get("budget_exit")),
                    }
                )
        if raw_tracer is not None and hasattr(raw_tracer, "close"):
            raw_tracer.close()
        out: dict[str, Any] = {"chunk": batch["chunk"], "rows": out_rows}
        if self.plan.injection_ratios:
            out["injection"] = self.injection_records(prompts, rows)
        return out

    def injection_records(self, prompts: list[str], rows: list[dict]) -> list[dict[str, Any]]:
        """mode=inject: `run_injection` for every (source, target) direction on this chunk."""
        by_name = {c.name: c for c in self.constituents}
        index = {str(r["id"]): r["_index"] for r in rows}
        records: list[dict[str, Any]] = []
        for source, target in self.plan.injection_directions:
            self.status_hook(method=f"inject:{source}->{target}")
            t0 = time.perf_counter()
            recs = self.api.run_injection(
                by_name[source],
                by_name[target],
                prompts,
                self.task,
                rows,
                ratios=tuple(self.plan.injection_ratios),
                options=self.injection_options,
            )
            wall = (time.perf_counter() - t0) / max(len(recs), 1)
            records += [{"index": index[str(r["id"])], **_plain(r), "wall_s": wall} for r in recs]
        return records
