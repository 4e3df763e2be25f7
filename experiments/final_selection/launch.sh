#!/usr/bin/env bash
# Table 10 (final selection): lowest change count vs best model vs most selected, on MMLU*,
# ARC-C, GSM8K, MATH500 and MBPP (table10_final_selection.*).
# Overlay: conf/experiment/final_selection.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/final_selection/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=final_selection hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/final_selection/results"
