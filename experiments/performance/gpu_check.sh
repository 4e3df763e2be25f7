#!/usr/bin/env bash
# GPU check (issue 23): random-initialised LLaDA-8B / Dream-7B shapes in bf16 on one H200 (and
# per-member placement when two GPUs are present): tokens/s at batch 1 and 32, TIE's wall over
# its members, and the KV-cache speed-ups. Under 8 minutes; writes gpu_check.{json,md} (and the
# bench's bench_gpu_check.*) to $OUT when set, else experiments/performance.
#   experiments/performance/gpu_check.sh          # on a GPU machine
#   experiments/performance/gpu_check.sh --tiny   # tiny shapes on CPU: checks the script runs
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
exec timeout 480 "$PY" experiments/performance/gpu_check.py "$@"
