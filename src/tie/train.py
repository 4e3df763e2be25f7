"""`tie-train member=<name>`: retrain a zoo member from `conf/member/<name>.yaml` and its seed.

Writes `zoo/<name>/` (or `out_dir=...`): weights, tokenizer, resolved config and model card.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> None:
    from tie.training.pipeline import train_member

    member = OmegaConf.to_container(cfg.member, resolve=True)
    if cfg.get("max_steps") is not None:
        member["optim"]["max_steps"] = int(cfg.max_steps)
    if cfg.get("max_minutes") is not None:
        member["optim"]["max_minutes"] = float(cfg.max_minutes)
    resolved = OmegaConf.to_yaml(OmegaConf.merge(cfg, {"member": member}), resolve=True)
    train_member(
        member,
        seed=int(cfg.seed),
        out_dir=cfg.out_dir,
        config_yaml=resolved,
        threads=int(cfg.threads),
        precision=str(cfg.precision),
        log_every=int(cfg.log_every),
        init_from=cfg.get("init_from"),
        first_stage=int(cfg.get("first_stage", 0)),
    )


if __name__ == "__main__":
    main()
