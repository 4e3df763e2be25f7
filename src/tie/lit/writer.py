"""Prediction writer: each finished chunk becomes one atomic part file (resume unit)."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import BasePredictionWriter

from tie.runs.store import PredictionStore


class ChunkPredictionWriter(BasePredictionWriter):
    def __init__(self, store: PredictionStore):
        super().__init__(write_interval="batch")
        self.store = store

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: Any,
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        if "injection" in prediction:  # first, so a finished chunk always has its records
            self.store.write_injection(prediction["chunk"], prediction["injection"])
        self.store.write_chunk(prediction["chunk"], prediction["rows"])

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # every rank's parts are on disk before rank 0 merges
        trainer.strategy.barrier("tie-predictions-written")
