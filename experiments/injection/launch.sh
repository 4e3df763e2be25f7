#!/usr/bin/env bash
# Study: injection / correction (mode=inject: single-model decodes + both injection directions
# at r = 0.33 / 0.5 -> <run>/traces/injection.parquet, rates in <run>/metrics.json).
# Overlay: conf/experiment/injection.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/injection/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=injection hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.correction "$SWEEP_DIR" --out "experiments/injection/results"
