#!/usr/bin/env bash
# Table 4: DreamCoder-7B + DiffuCoder-7B on HumanEval / MBPP.
# Overlay: conf/experiment/code_models.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/table4_code_models/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=code_models hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.tables "$SWEEP_DIR" --out "experiments/table4_code_models/results"
