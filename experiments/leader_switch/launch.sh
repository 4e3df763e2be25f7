#!/usr/bin/env bash
# Study: leader change rate over rounds, tcc vs top-1.
# Overlay: conf/experiment/leader_switch.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/leader_switch/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=leader_switch hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.leader "$SWEEP_DIR" --out "experiments/leader_switch/results"
