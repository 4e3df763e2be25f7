"""Method names as tie-run writes them (`single:<m>`, `post`, `tie:<scoring>`, baselines)."""

from __future__ import annotations

METHOD_ORDER = ("single:", "post", "tie:tcc", "tie:top1", "tie:entropy", "tie:margin")


def method_rank(method: str) -> tuple[int, str]:
    """Sort key giving the paper's row order: single models, post, TIE scorings, the rest."""
    for i, prefix in enumerate(METHOD_ORDER):
        if method == prefix or (prefix.endswith(":") and method.startswith(prefix)):
            return i, method
    return len(METHOD_ORDER), method
