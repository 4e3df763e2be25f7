"""Write a trained member as a zoo directory (HF layout) with its model card.

`zoo/<name>/`: config.json + model.safetensors (our model classes' `save_pretrained`), tokenizer
files, `train_config.yaml` (the resolved Hydra config), `train_log.json` (loss curve, probe,
timing) and `MODEL_CARD.md`. The card's measured-accuracy section is rewritten in place by the
testbed measurement script (between the `MEASURED` markers).
"""

from __future__ import annotations

import json
from pathlib import Path

from tie.training.module import stage_optims

MEASURED_BEGIN = "<!-- MEASURED:BEGIN -->"
MEASURED_END = "<!-- MEASURED:END -->"


def export_member(model, tokenizer, out_dir: str | Path, config_yaml: str, log: dict) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    (out / "train_config.yaml").write_text(config_yaml)
    (out / "train_log.json").write_text(json.dumps(log, indent=1))
    card = out / "MODEL_CARD.md"
    measured = _measured_section(card.read_text()) if card.exists() else None
    card.write_text(render_card(log, measured))
    return out


def _measured_section(text: str) -> str | None:
    if MEASURED_BEGIN in text and MEASURED_END in text:
        return text[text.index(MEASURED_BEGIN) : text.index(MEASURED_END) + len(MEASURED_END)]
    return None


def _prefix_note(member: dict) -> str:
    """The card line for stages trained with semi-autoregressive masks (`optim.prefix_frac`)."""
    used = [(i, o.prefix_frac) for i, o in enumerate(stage_optims(member)) if o.prefix_frac]
    if not used:
        return ""
    which = ", ".join(f"stage {i}: {frac:.0%}" for i, frac in used)
    return (
        f"\n* Semi-autoregressive masks ({which} of the sequences): every generated position from a"
        "\n  random cut on is masked, so answer predictions are trained on the canvases a decode visits."
    )


def render_card(log: dict, measured: str | None = None) -> str:
    m = log["member"]
    probe = "\n".join(
        f"| {kind} | {v['n']} | {v['acc']:.2f} | {v['agree']:.2f} | {v['conf']:.2f} |"
        for kind, v in log.get("probe", {}).items()
    )
    measured = measured or (
        f"{MEASURED_BEGIN}\nNot measured yet: run `experiments/testbed/launch.sh` (tie-run testbed overlays), then `experiments/testbed/cards.py <sweep>`.\n{MEASURED_END}"
    )
    return f"""# Zoo member `{m["name"]}`

Tiny {m["family"]}-family masked diffusion LM for the offline TIE testbed (`task=synth_math`).
Trained from scratch by `tie-train member={m["name"]}` (config: `conf/member/{m["name"]}.yaml`,
resolved copy: `train_config.yaml`); loads with `tie.models.load_backend("zoo:{m["name"]}")`.

## Recipe
* Architecture: {m["family"]} class from `tie.models`, {log["n_params"]:,} parameters, `{json.dumps(m["arch"])}`.
* Tokenizer: {m["family"]} character level, merged tokens {list(m["tokenizer"]["merged_tokens"])},
  char-order seed {m["tokenizer"]["char_order_seed"]}; vocabulary {log["vocab_size"]} tokens.
* Objective: MDLM (t ~ U({m["optim"]["eps"]}, 1) per sequence, masked CE weighted 1/t; prompt and
  `Answer:` suffix never masked), canvas layout identical to decoding (reasoning 48, answer 2).{_prefix_note(m)}
* Optimiser: AdamW lr {m["optim"]["lr"]}, warmup {m["optim"]["warmup_steps"]}, cosine to
  {m["optim"]["min_lr_ratio"]}x over min(max_steps={m["optim"]["max_steps"]},
  {m["optim"]["max_minutes"]} min), batch {m["data"]["batch_size"]}, precision {log["precision"]},
  {log["threads"]} torch thread(s).
* Seed {log["seed"]}. Training: {log["steps"]} steps in {log["train_minutes"]:.1f} min on CPU
  (shared 2-core machine); final loss (mean of last 50 steps) {log["final_loss"]:.4f}.
* Stages (each continues the previous weights with its own warmup + cosine schedule):
  {json.dumps(log.get("stages", []))}; stage overrides {json.dumps(m.get("stages") or [])}.

## Data (training split only; evaluation problems are hash-reserved and never generated here)
* Knowledge: private group(s) {list(m["knowledge"]["groups"])} + the common facts;
  {m["knowledge"]["wrong_common"]} common fact(s) held with a consistent wrong value (slot
  {m["knowledge"]["slot"]}); {m["knowledge"]["noisy_frac"]:.0%} of owned private facts trained with
  label noise p={m["knowledge"]["noise_p"]}; every other fact gets a fresh random value per example
  (calibrated ignorance).
* Mix: {m["data"]["in_domain_frac"]:.0%} of examples draw only owned facts, the rest any category
  (`common`, `single`, `mixed2`, `mixed3`) of any entities; synth_countdown share
  {m["data"]["countdown_frac"]:.0%}.

## Fact-recall probe (decoder-free, after training)
| belief kind | facts | acc vs truth | agrees with own belief | mean confidence |
|---|---|---|---|---|
{probe}

## Measured accuracy
{measured}
"""
