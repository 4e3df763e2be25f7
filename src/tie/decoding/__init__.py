"""The decoding engine: canvas, per-row schedules, unmasking policies, signals, generate."""

from tie.decoding.canvas import CanvasLayout, build_canvas
from tie.decoding.config import POLICIES, DecodeConfig, DecodeInputError
from tie.decoding.decoder import Decoder
from tie.decoding.generate import generate
from tie.decoding.schedule import dream_schedule, llada_schedule
from tie.decoding.signals import StepSignals
from tie.decoding.state import DecodeState

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
