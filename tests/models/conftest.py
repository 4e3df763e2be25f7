"""Fixtures of the model-backend tests; helpers live in `tie_models_helpers`."""

from tie_models_helpers import dream_dir, family_dir, llada_dir

__all__ = ["dream_dir", "family_dir", "llada_dir"]
