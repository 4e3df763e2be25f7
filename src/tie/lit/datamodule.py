"""DataModule over the remaining chunks of a task (one item = one fixed chunk of problems).

Items are whole chunks so the batches are identical with 1 or N ranks and before/after a resume;
Lightning's predict sampler then hands each rank a disjoint set of chunks (no padding).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from tie.runs.store import Chunk


class ChunkDataset(Dataset):
    def __init__(self, chunks: list[Chunk]):
        self.chunks = chunks

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"chunk": self.chunks[i].index, "rows": self.chunks[i].rows}


def first_item(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Collate for batch_size=1 over chunks: the chunk itself (rows stay plain dicts)."""
    return items[0]


class TaskDataModule(pl.LightningDataModule):
    def __init__(self, chunks: list[Chunk], num_workers: int = 0):
        super().__init__()
        self.chunks, self.num_workers = chunks, num_workers

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(
            ChunkDataset(self.chunks),
            batch_size=1,
            shuffle=False,
            collate_fn=first_item,
            num_workers=self.num_workers,
        )
