#!/usr/bin/env bash
# Table 3: LLaDA-1.5 + Dream-7B-Instruct on the eight benchmarks plus MMLU* (derived from the
# MMLU run by subject), three overlays (general, math, code), then one table over all of them.
# Overlay: conf/experiment/main_results_{general,math,code}.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
# The same runs hold the TIE rounds of Table 5: python -m analysis.leader "$ROOT".
set -euo pipefail
cd "$(dirname "$0")/../.."
# One invocation per overlay: Hydra reads an overlay's sweep axes only when it is the sole experiment.
ROOT=${SWEEP_ROOT:-logs/multiruns/table3_main_results/$(date +%Y-%m-%d_%H-%M-%S)}
for EXP in main_results_general main_results_math main_results_code; do
  .venv/bin/tie-run -m experiment=$EXP hydra.sweep.dir="$ROOT/$EXP" "$@"
done
.venv/bin/python -m analysis.tables "$ROOT" --out "experiments/table3_main_results/results"
