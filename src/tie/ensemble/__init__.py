"""The TIE ensemble: methods `single:<m>`, `post`, `tie:<scoring>` and the baselines.

Read `loop.py` for one TIE round; the named rules are in `rules/` (registries: `registry.py`).
Exports are lazy (`tie._lazy`): `tie.ensemble.options` and the registries load without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tie._lazy import lazy_exports

if TYPE_CHECKING:
    from tie.ensemble.methods import run_method
    from tie.ensemble.options import (
        Candidate,
        Constituent,
        EnsembleOptions,
        GatingOptions,
        MethodOutput,
    )

_EXPORTS = {
    "run_method": ".methods",
    **dict.fromkeys(
        ["Candidate", "Constituent", "EnsembleOptions", "GatingOptions", "MethodOutput"],
        ".options",
    ),
}
__all__ = [
    "Candidate",
    "Constituent",
    "EnsembleOptions",
    "GatingOptions",
    "MethodOutput",
    "run_method",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
