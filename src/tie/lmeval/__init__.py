"""lm-evaluation-harness integration: the `tie` model (`tie.lmeval.model`) and `tie-lm-eval`."""
