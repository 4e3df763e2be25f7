"""Model backends: our LLaDA / Dream classes and the loaders that wrap them as `MDLMBackend`s.

Importing this package registers model types `llada` and `dream` with transformers' Auto classes,
so `AutoConfig` / `AutoModel` resolve our local code (no remote code needed).
"""

from transformers import AutoConfig, AutoModel

from tie.models.backend import BackendInfo, MDLMBackend
from tie.models.dream import DreamConfig, DreamModel
from tie.models.llada import LLaDAConfig, LLaDAModelLM
from tie.models.loading import inspect_checkpoint, list_zoo, load_backend, zoo_root
from tie.models.native import TransformersBackend

AutoConfig.register("llada", LLaDAConfig, exist_ok=True)
AutoConfig.register("dream", DreamConfig, exist_ok=True)
AutoModel.register(LLaDAConfig, LLaDAModelLM, exist_ok=True)
AutoModel.register(DreamConfig, DreamModel, exist_ok=True)

__all__ = [
    "BackendInfo",
    "DreamConfig",
    "DreamModel",
    "LLaDAConfig",
    "LLaDAModelLM",
    "MDLMBackend",
    "TransformersBackend",
    "inspect_checkpoint",
    "list_zoo",
    "load_backend",
    "zoo_root",
]
