"""Performance harness: `python -m tie.bench` (also `make bench`); see `tie.bench.config`."""

from tie.bench.config import BenchConfig, from_args
from tie.bench.models import BenchInputError
from tie.bench.reference import llada_reference_generate
from tie.bench.runner import run_bench

__all__ = ["BenchConfig", "BenchInputError", "from_args", "llada_reference_generate", "run_bench"]
