"""The MDLM objective as a LightningModule, for both model families.

Per sequence t ~ U(eps, 1); each generated-region token is masked with probability t; the loss is
the cross-entropy on masked positions weighted 1/t, normalised by the number of generated
positions. Dream-family members are trained through their *aligned* logits (raw output at i-1
predicts token i), the same alignment the backend exposes at inference. The learning rate follows
warmup then cosine decay over `progress = max(step / max_steps, elapsed / max_minutes)`, so a run
cut by its wall-time cap still ends annealed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tie.models import DreamConfig, DreamModel, LLaDAConfig, LLaDAModelLM

FAMILIES = ("llada", "dream")


@dataclass(frozen=True)
class OptimSpec:
    """`member.optim` config."""

    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = 200
    max_steps: int = 6000
    max_minutes: float = 28.0
    eps: float = 0.05  # smallest masking ratio
    grad_clip: float = 1.0
    # Share of examples masked the way a semi-autoregressive decode leaves a canvas: every generated
    # position from a random cut on, and each of the `prefix_block` positions before the cut with
    # probability 1/2. I.i.d. masks almost never show "trace written up to here, answer masked",
    # the states whose answer predictions the token change count reads.
    prefix_frac: float = 0.0
    prefix_block: int = 8

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.max_steps < 1 or self.max_minutes <= 0:
            raise ValueError("optim.lr, optim.max_steps and optim.max_minutes must be positive")
        if not 0 < self.eps < 1:
            raise ValueError(f"optim.eps must be in (0, 1), got {self.eps}")
        if not 0 <= self.prefix_frac <= 1 or self.prefix_block < 0:
            raise ValueError(
                f"optim.prefix_frac must be in [0, 1] and optim.prefix_block >= 0, got "
                f"{self.prefix_frac}, {self.prefix_block}"
            )


def stage_optims(member: dict[str, Any]) -> list[OptimSpec]:
    """The optimiser spec of every stage: `optim`, then `optim` patched by each `stages` entry."""
    base = dict(member["optim"])
    base["betas"] = tuple(base.get("betas", (0.9, 0.98)))
    return [OptimSpec(**base)] + [OptimSpec(**{**base, **st}) for st in member.get("stages") or []]


def sample_masks(gen: torch.Tensor, optim: OptimSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked [B, L], masking ratio t [B]) over the generated positions `gen` [B, L].

    Rows draw t ~ U(eps, 1) and mask i.i.d.; a `prefix_frac` share of rows is masked from a
    random cut on instead (see `OptimSpec.prefix_frac`), with t the share actually masked.
    """
    b, dev = gen.shape[0], gen.device
    t = torch.rand(b, device=dev) * (1 - optim.eps) + optim.eps
    masked = gen & (torch.rand(gen.shape, device=dev) < t[:, None])
    if optim.prefix_frac <= 0:
        return masked, t
    order = gen.long().cumsum(1) - 1  # index of each generated position, in canvas order
    n = gen.sum(1)
    cut = (torch.rand(b, device=dev) * (n + 1)).floor().long().clamp(max=n)[:, None]
    near = (order >= cut - optim.prefix_block) & (torch.rand(gen.shape, device=dev) < 0.5)
    prefix = gen & ((order >= cut) | near)
    use = torch.rand(b, device=dev) < optim.prefix_frac
    masked = torch.where(use[:, None], prefix, masked)
    share = (prefix.sum(1) / n.clamp(min=1)).clamp(min=optim.eps)
    return masked, torch.where(use, share, t)


def build_model(family: str, arch: dict, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A fresh model of `family` sized by `arch` (that family's own config field names)."""
    ids = {
        "vocab_size": len(tokenizer),
        "mask_token_id": tokenizer.mask_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
    }
    if family == "llada":
        return LLaDAModelLM(
            LLaDAConfig(**arch, **ids, max_sequence_length=tokenizer.model_max_length)
        )
    if family == "dream":
        cfg = DreamConfig(**arch, **ids, max_position_embeddings=tokenizer.model_max_length)
        return DreamModel(cfg)
    raise ValueError(f"unknown family {family!r}; known: {FAMILIES}")


def aligned_logits(
    model: PreTrainedModel, family: str, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Logits where position i predicts token i (Dream's raw output is shifted by one)."""
    raw = model(input_ids=input_ids, attention_mask=attention_mask).logits
    if family == "dream":
        return torch.cat([raw[:, :1], raw[:, :-1]], dim=1)
    return raw


def mdlm_loss(
    logits: torch.Tensor, targets: torch.Tensor, masked: torch.Tensor, t: torch.Tensor, n_gen: int
) -> torch.Tensor:
    """Sum over masked positions of CE / t, divided by the number of generated positions."""
    ce = F.cross_entropy(logits[masked].float(), targets[masked], reduction="none")
    weights = (1.0 / t)[:, None].expand_as(masked)[masked]
    return (ce * weights).sum() / max(n_gen, 1)


def lr_factor(progress: float, step: int, warmup: int, min_ratio: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(max(progress, 0.0), 1.0)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class MDLMLitModule(pl.LightningModule):
    def __init__(self, model: PreTrainedModel, family: str, mask_id: int, optim: OptimSpec):
        super().__init__()
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; known: {FAMILIES}")
        if mask_id is None:
            raise ValueError("the tokenizer has no mask token")
        self.model, self.family, self.mask_id, self.optim = model, family, mask_id, optim
        self.t_start: float | None = None
        self.history: list[tuple[int, float]] = []  # (step, loss) for the model card / tests

    def progress(self) -> float:
        elapsed = 0.0 if self.t_start is None else time.monotonic() - self.t_start
        return max(self.global_step / self.optim.max_steps, elapsed / (60 * self.optim.max_minutes))

    def on_train_start(self) -> None:
        self.t_start = time.monotonic()

    def on_train_batch_start(self, batch, batch_idx: int) -> int | None:
        if self.progress() >= 1.0:
            return -1  # ends the epoch (and the endless stream): time or step budget spent
        o = self.optim
        factor = lr_factor(self.progress(), self.global_step, o.warmup_steps, o.min_lr_ratio)
        for group in self.trainer.optimizers[0].param_groups:
            group["lr"] = o.lr * factor
        return None

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        ids, attn, gen = batch["input_ids"], batch["attention_mask"], batch["gen_mask"]
        masked, t = sample_masks(gen, self.optim)
        noisy = torch.where(masked, torch.full_like(ids, self.mask_id), ids)
        logits = aligned_logits(self.model, self.family, noisy, attn)
        loss = mdlm_loss(logits, ids, masked, t, int(gen.sum()))
        self.log("train/loss", loss, prog_bar=True, batch_size=ids.shape[0])
        self.history.append((self.global_step, float(loss.detach())))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        o = self.optim
        return torch.optim.AdamW(
            self.model.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay
        )
