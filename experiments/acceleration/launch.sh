#!/usr/bin/env bash
# Table 7 (acceleration): TIE with confidence-threshold (tau 0.9) and top-k (k 2) decoding on
# GSM8K, MMLU*, ARC-C and MBPP; accuracy with mean NFE (table7_acceleration.*).
# Overlay: conf/experiment/acceleration.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/acceleration/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=acceleration hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/acceleration/results"
