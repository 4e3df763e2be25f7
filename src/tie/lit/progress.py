"""Rich progress bar per run: problems done, current method, current TIE round (rank 0 only)."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunProgress(Callback):
    def __init__(self, total: int, done: int, title: str):
        self.total, self.done, self.title = total, done, title
        self.progress: Progress | None = None
        self.task_id: Any = None

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[method]} {task.fields[round]}"),
            TimeElapsedColumn(),
        )
        self.progress.start()
        self.task_id = self.progress.add_task(
            self.title, total=self.total, completed=self.done, method="", round=""
        )
        pl_module.status_hook = self.status

    def status(self, method: str | None = None, round: int | None = None) -> None:
        if self.progress is not None:
            fields: dict[str, str] = {}
            if method is not None:
                fields.update(method=method, round="")
            if round is not None:
                fields["round"] = f"round {round}"
            self.progress.update(self.task_id, **fields)

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if self.progress is not None:
            # other ranks' chunks are not counted live; the bar is rank 0's share + resumed ones
            self.progress.advance(self.task_id, len(batch["rows"]) * trainer.world_size)

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
