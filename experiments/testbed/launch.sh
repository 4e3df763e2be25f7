#!/usr/bin/env bash
# Testbed measurements on the zoo (synth_math + synth_countdown), CPU: every number of RESULTS.md
# comes from these tie-run overlays and `analysis.testbed` (one pipeline; see experiments/README.md).
#   testbed_test:      held-out test seeds x {default mix, single_owner control}, 500 problems each
#   testbed_countdown: the synthetic Countdown task
# Tuning happens on the dev split (experiment=testbed_dev), never on these seeds.
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One invocation per overlay: Hydra reads an overlay's sweep axes only when it is the sole experiment.
ROOT=${SWEEP_ROOT:-logs/multiruns/testbed/$(date +%Y-%m-%d_%H-%M-%S)}
OUT=${RESULTS_DIR:-experiments/testbed/results/$(basename "$ROOT")}
for EXP in testbed_test testbed_countdown; do
  .venv/bin/tie-run -m experiment=$EXP hydra.sweep.dir="$ROOT/$EXP" "$@"
  # tables, pooled intervals, figures and a manifest (revision, command) into the results folder;
  # predictions and traces stay in $ROOT (run outputs are not committed)
  .venv/bin/python -m analysis.testbed "$ROOT/$EXP" --out "$OUT/$EXP"
done
