#!/usr/bin/env bash
# Study: answer-token stability of correct vs incorrect decodes (change count, top-1, entropy, margin).
# Overlay: conf/experiment/stability.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/stability/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=stability hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.stability "$SWEEP_DIR" --out "experiments/stability/results"
