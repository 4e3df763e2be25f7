"""The built-in named rules, one module per kind; every module here is imported on the first
registry lookup (`tie.ensemble.registry`), so a new rule is one new module plus its config entry.

Status: rules tagged `status="experimental"` are the testbed's research rules (beyond the paper
and TIE_SPEC); the others are the paper's method or a decision TIE_SPEC left open.
"""
