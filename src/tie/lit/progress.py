"""Run progress on rank 0: problems done, current method and TIE round, rate, ETA.

On a terminal: a rich progress bar. Without one (nohup, SLURM, `make run > log`) a bar prints
nothing until it stops, so instead a line is logged every `every_s` seconds (and once at the
start and the end) through the `tie.progress` logger, which Hydra's job logging sends to the
console and to `<run dir>/run.log`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from pytorch_lightning.callbacks import Callback

log = logging.getLogger("tie.progress")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class ProgressState:
    """Counts and the current method/round; renders one progress line.

    Rate and ETA count (problem, method) pairs, so they are known after the first method of the
    first chunk rather than after a whole chunk (a chunk of 16 problems can take minutes)."""

    def __init__(self, total: int, done: int, title: str, methods: list[str] | None = None):
        self.total, self.done, self.title = total, done, title
        self.methods = list(methods or [])
        self.start_done = done
        self.t0 = time.monotonic()
        self.method = ""
        self.round: int | None = None
        self.chunk_rows = 0  # problems of the chunk being decoded (0 between chunks)

    def units(self) -> float:
        """Problems done, counting the finished methods of the current chunk as fractions."""
        if not self.chunk_rows or not self.methods:
            return float(self.done)
        m = self.methods.index(self.method) if self.method in self.methods else len(self.methods)
        return self.done + self.chunk_rows * m / len(self.methods)

    def line(self, now: float | None = None) -> str:
        elapsed = (time.monotonic() if now is None else now) - self.t0
        new = self.units() - self.start_done
        rate = new / elapsed if elapsed > 0 and new > 0 else None
        left = self.total - self.units()
        pct = 100.0 * self.done / self.total if self.total else 100.0
        where = self.method or "-"
        if self.round is not None:
            where += f" round {self.round}"
        rate_s = f"{rate:.3g} problems/s" if rate else "rate -"
        eta_s = _clock(left / rate) if rate else ("0:00:00" if left <= 0 else "-")
        return (
            f"progress {self.title}: {self.done}/{self.total} problems ({pct:.0f}%) | {where} | "
            f"{rate_s} | elapsed {_clock(elapsed)} | ETA {eta_s}"
        )


class RunProgress(Callback):
    def __init__(
        self,
        total: int,
        done: int,
        title: str,
        every_s: float = 30.0,
        tty: bool | None = None,
        methods: list[str] | None = None,
    ):
        self.total, self.done, self.title = total, done, title
        self.methods = list(methods or [])
        self.every_s = float(every_s)
        self.tty = tty  # None: ask stdout when the run starts
        self.state: ProgressState | None = None
        self.progress: Any = None
        self.task_id: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.is_global_zero:
            return
        self.state = ProgressState(self.total, self.done, self.title, self.methods)
        tty = sys.stdout.isatty() if self.tty is None else self.tty
        if tty:
            self._start_bar()
        else:
            log.info(self.state.line())
            self._stop.clear()
            self._thread = threading.Thread(target=self._tick, name="tie-progress", daemon=True)
            self._thread.start()
        pl_module.status_hook = self.status

    def _start_bar(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

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

    def _tick(self) -> None:
        while not self._stop.wait(self.every_s):
            if self.state is not None:
                log.info(self.state.line())

    def status(self, method: str | None = None, round: int | None = None) -> None:
        if self.state is not None:
            if method is not None:
                self.state.method, self.state.round = method, None
            if round is not None:
                self.state.round = round
        if self.progress is not None:
            fields: dict[str, str] = {}
            if method is not None:
                fields.update(method=method, round="")
            if round is not None:
                fields["round"] = f"round {round}"
            self.progress.update(self.task_id, **fields)

    def on_predict_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if self.state is not None:
            self.state.chunk_rows = len(batch["rows"]) * trainer.world_size

    def on_predict_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        # other ranks' chunks are not counted live: rank 0's share (x world size) + resumed ones
        n = len(batch["rows"]) * trainer.world_size
        if self.state is not None:
            self.state.done = min(self.total, self.state.done + n)
            self.state.chunk_rows = 0
        if self.progress is not None:
            self.progress.advance(self.task_id, n)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.on_predict_end(trainer, pl_module)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self.state is not None:
                log.info(self.state.line())
