"""Train one zoo member end to end from its resolved config and write `zoo/<name>/`."""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from tie.tasks.synth_countdown import ANSWER_LEN as CD_ANSWER_LEN
from tie.tasks.synth_countdown import REASONING_LEN as CD_REASONING_LEN
from tie.tasks.synth_math import ANSWER_LEN, REASONING_LEN
from tie.training.data import CanvasEncoder, DataSpec, ExampleSource, SynthDataModule
from tie.training.export import export_member
from tie.training.knowledge import KnowledgeSpec, build_beliefs
from tie.training.module import MDLMLitModule, OptimSpec, build_model, stage_optims
from tie.training.probe import probe_facts
from tie.training.tokenizers import build_tokenizer

LEAFSPEC_WARNING = r"`isinstance\(treespec, LeafSpec\)` is deprecated"

log = logging.getLogger(__name__)
MEMBER_KEYS = {"name", "family", "seed", "arch", "tokenizer", "knowledge", "data", "optim"}
OPTIONAL_KEYS = {"stages"}  # list of optim overrides: further stages continuing the same weights


def check_member(member: dict[str, Any]) -> None:
    """Fail before any compute on a malformed member config."""
    missing = MEMBER_KEYS - set(member)
    if missing:
        raise ValueError(f"member config lacks {sorted(missing)} (needs {sorted(MEMBER_KEYS)})")
    unknown = set(member) - MEMBER_KEYS - OPTIONAL_KEYS
    if unknown:
        raise ValueError(f"member config has unknown keys {sorted(unknown)}")
    for i, stage in enumerate(member.get("stages") or []):
        bad = set(stage) - set(OptimSpec.__dataclass_fields__)
        if bad:
            raise ValueError(f"member.stages[{i}] has unknown optim keys {sorted(bad)}")


def build_parts(member: dict[str, Any], seed: int):
    """Tokenizer, model, Lightning module, data module, encoder and beliefs of a member."""
    check_member(member)
    family = member["family"]
    tok_cfg = member["tokenizer"]
    tokenizer = build_tokenizer(family, tuple(tok_cfg["merged_tokens"]), tok_cfg["char_order_seed"])
    k = dict(member["knowledge"])
    k["groups"] = tuple(k["groups"])
    beliefs = build_beliefs(KnowledgeSpec(**k))
    data = DataSpec(**member["data"])
    optim = stage_optims(member)[0]
    budgets = {
        "synth_math": (REASONING_LEN, ANSWER_LEN),
        "synth_countdown": (
            CD_REASONING_LEN[data.countdown_numbers],
            CD_ANSWER_LEN[data.countdown_numbers],
        ),
    }
    encoder = CanvasEncoder(tokenizer, family, budgets)
    pl.seed_everything(seed, workers=True, verbose=False)
    model = build_model(family, dict(member["arch"]), tokenizer)
    lit = MDLMLitModule(model, family, tokenizer.mask_token_id, optim)
    dm = SynthDataModule(ExampleSource(beliefs, data), encoder, data.batch_size, seed)
    return tokenizer, model, lit, dm, encoder, beliefs


def resolved_member(member: dict[str, Any]) -> dict[str, Any]:
    """The member config with every default filled in (what the model card reports)."""
    k = dict(member["knowledge"])
    k["groups"] = tuple(k["groups"])
    return {
        **member,
        "knowledge": {**asdict(KnowledgeSpec(**k)), "groups": list(k["groups"])},
        "data": asdict(DataSpec(**member["data"])),
        "optim": {**asdict(stage_optims(member)[0]), "betas": list(stage_optims(member)[0].betas)},
    }


def train_member(
    member: dict[str, Any],
    seed: int,
    out_dir: str | Path,
    config_yaml: str,
    threads: int = 1,
    precision: str = "32-true",
    log_every: int = 50,
    init_from: str | Path | None = None,
    first_stage: int = 0,
) -> dict[str, Any]:
    """Train every stage, probe and export one member (after each stage); returns the log.

    `init_from` + `first_stage` resume a member saved after an earlier stage (its weights and
    `train_log.json`), so an interrupted multi-stage run continues where it stopped.
    """
    torch.set_num_threads(threads)
    tokenizer, model, lit, dm, encoder, beliefs = build_parts(member, seed)
    optims = stage_optims(member)
    if not 0 <= first_stage < len(optims):
        raise ValueError(f"first_stage must be in [0, {len(optims)}), got {first_stage}")
    done = {"steps": 0, "train_minutes": 0.0, "loss_curve": [], "stages": []}
    if init_from is not None:
        init = Path(init_from)
        model.load_state_dict(type(model).from_pretrained(str(init)).state_dict())
        prev = json.loads((init / "train_log.json").read_text())
        done = {k: prev.get(k, v) for k, v in done.items()}
    result: dict[str, Any] = {}
    # Lightning's per-fit info lines (a litlogger tip, "max_epochs reached"): tie-train prints
    # its own progress (_Printer), as tie-run quiets the same logger
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    for i in range(first_stage, len(optims)):
        lit = MDLMLitModule(model, member["family"], tokenizer.mask_token_id, optims[i])
        trainer = pl.Trainer(
            accelerator="cpu",
            max_epochs=1,
            precision=precision,
            gradient_clip_val=optims[i].grad_clip,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            log_every_n_steps=log_every,
            callbacks=[_Printer(log_every)],
        )
        t0 = time.monotonic()
        with warnings.catch_warnings():
            # pytorch-lightning's CombinedLoader builds `torch.utils._pytree.LeafSpec()`, which
            # torch 2.13 deprecates (FutureWarning, up to lightning 2.6.6): not ours to act on
            warnings.filterwarnings("ignore", message=LEAFSPEC_WARNING, category=FutureWarning)
            trainer.fit(lit, dm)
        minutes = (time.monotonic() - t0) / 60
        losses = [x for _, x in lit.history]
        curve = [(done["steps"] + s, x) for s, x in lit.history[:: max(1, len(lit.history) // 100)]]
        done = {
            "steps": done["steps"] + lit.global_step,
            "train_minutes": done["train_minutes"] + minutes,
            "loss_curve": done["loss_curve"] + curve,
            "stages": done["stages"] + [{"stage": i, "steps": lit.global_step, "minutes": minutes}],
        }
        result = {
            "member": resolved_member(member),
            "seed": seed,
            **done,
            "threads": threads,
            "precision": precision,
            "n_params": sum(p.numel() for p in model.parameters()),
            "vocab_size": len(tokenizer),
            "final_loss": sum(losses[-50:]) / max(len(losses[-50:]), 1),
            "probe": probe_facts(model, member["family"], encoder, beliefs),
        }
        export_member(model, tokenizer, out_dir, config_yaml, result)
        log.info("stage %d done, wrote %s: %s", i, out_dir, result["probe"])
    return result


class _Printer(pl.Callback):
    """Plain-text progress (the runs go to log files; no progress bar)."""

    def __init__(self, every: int):
        self.every, self.t0 = every, time.monotonic()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step = module.global_step
        if step % self.every == 0 and module.history:
            recent = [x for _, x in module.history[-self.every :]]
            lr = trainer.optimizers[0].param_groups[0]["lr"]
            print(
                f"step {step} loss {sum(recent) / len(recent):.4f} lr {lr:.2e} "
                f"progress {module.progress():.3f} elapsed {time.monotonic() - self.t0:.0f}s",
                flush=True,
            )
