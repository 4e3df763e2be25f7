"""The TIE ensemble engine: methods `single:<m>`, `post`, `tie:<scoring>` and the baselines."""

from tie.ensemble.engine import run_method
from tie.ensemble.options import (
    Candidate,
    Constituent,
    EnsembleOptions,
    GatingOptions,
    MethodOutput,
)

__all__ = [
    "Candidate",
    "Constituent",
    "EnsembleOptions",
    "GatingOptions",
    "MethodOutput",
    "run_method",
]
