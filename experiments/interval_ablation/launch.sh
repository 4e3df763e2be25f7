#!/usr/bin/env bash
# Table 6 (interval): n = 8 / 16 / 32 on MMLU, MMLU* (derived from MMLU by subject), ARC-C,
# WinoGrande, GSM8K and MATH500 (table6_interval.*).
# Overlay: conf/experiment/interval_ablation.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/interval_ablation/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=interval_ablation hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/interval_ablation/results"
