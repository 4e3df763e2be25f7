#!/usr/bin/env bash
# Acceleration: TIE with confidence-threshold and top-k decoding.
# Overlay: conf/experiment/acceleration.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/acceleration/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=acceleration hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/acceleration/results"
