#!/usr/bin/env bash
# Table 5 and Figure 3 (leader switch): leader change rate, tcc vs top-1, on the eight tasks of
# Table 3 (leader_table.*, leader_timing.png = changes against normalised decoding progress).
# Table 3's runs hold the same rounds: `python -m analysis.leader <table3 sweep root>` needs no
# new decode.
# Overlay: conf/experiment/leader_switch.yaml (sweep axes in its hydra.sweeper.params).
# Real models: export TIE_MODELS_DIR=/path/to/checkpoints (see conf/model/*.yaml for folder names).
# Local parallel: add launcher=joblib.  SLURM: add launcher=submitit hydra.launcher.partition=<p>.
set -euo pipefail
cd "$(dirname "$0")/../.."
SWEEP_DIR=${SWEEP_DIR:-logs/multiruns/leader_switch/$(date +%Y-%m-%d_%H-%M-%S)}
.venv/bin/tie-run -m experiment=leader_switch hydra.sweep.dir="$SWEEP_DIR" "$@"
.venv/bin/python -m analysis.leader "$SWEEP_DIR" --out "experiments/leader_switch/results"
