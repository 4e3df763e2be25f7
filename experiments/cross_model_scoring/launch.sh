#!/usr/bin/env bash
# Table 9 (cross-model scoring): logit scores over every constituent vs the source model only,
# on MMLU*, ARC-C, GSM8K and MATH500 (table9_cross_model.*).
# Overlay: conf/experiment/cross_model_scoring.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/cross_model_scoring/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=cross_model_scoring hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/cross_model_scoring/results"
