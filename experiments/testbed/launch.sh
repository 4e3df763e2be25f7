#!/usr/bin/env bash
# Testbed comparison on the zoo (synth_math + synth_countdown), CPU, minutes.
# Overlay: conf/experiment/testbed.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One invocation per overlay: Hydra reads an overlay's sweep axes only when it is the sole experiment.
ROOT=${SWEEP_ROOT:-logs/multiruns/testbed/$(date +%Y-%m-%d_%H-%M-%S)}
for EXP in testbed testbed_countdown; do
  .venv/bin/tie-run -m experiment=$EXP hydra.sweep.dir="$ROOT/$EXP" "$@"
  .venv/bin/python -m analysis.tables "$ROOT/$EXP" --out "experiments/testbed/results/$EXP"
done
