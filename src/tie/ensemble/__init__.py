"""The TIE ensemble: methods `single:<m>`, `post`, `tie:<scoring>` and the baselines.

Read `loop.py` for one TIE round; the named rules are in `rules/` (registries: `registry.py`).
"""

from tie.ensemble.methods import run_method
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
