"""The decoding engine: canvas, per-row schedules, unmasking policies, signals, generate.

Exports are lazy (`tie._lazy`): `tie.decoding.config` (DecodeConfig) loads without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tie._lazy import lazy_exports

if TYPE_CHECKING:
    from tie.decoding.canvas import CanvasLayout, build_canvas
    from tie.decoding.config import POLICIES, DecodeConfig, DecodeInputError
    from tie.decoding.decoder import Decoder
    from tie.decoding.generate import generate
    from tie.decoding.schedule import dream_schedule, llada_schedule
    from tie.decoding.signals import StepSignals
    from tie.decoding.state import DecodeState

_EXPORTS = {
    "CanvasLayout": ".canvas",
    "build_canvas": ".canvas",
    "POLICIES": ".config",
    "DecodeConfig": ".config",
    "DecodeInputError": ".config",
    "Decoder": ".decoder",
    "generate": ".generate",
    "dream_schedule": ".schedule",
    "llada_schedule": ".schedule",
    "StepSignals": ".signals",
    "DecodeState": ".state",
}
__all__ = [
    "POLICIES",
    "CanvasLayout",
    "DecodeConfig",
    "DecodeInputError",
    "DecodeState",
    "Decoder",
    "StepSignals",
    "build_canvas",
    "dream_schedule",
    "generate",
    "llada_schedule",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
