#!/usr/bin/env bash
# Table 8 (normalisation): normalised vs raw token change count on GSM8K and MATH500
# (table8_normalise.*).
# Overlay: conf/experiment/normalisation.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/normalisation/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=normalisation hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/normalisation/results"
