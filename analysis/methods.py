"""Method names as tie-run writes them (`single:<m>`, `post`, `tie:<scoring>`, baselines)."""

from __future__ import annotations

METHOD_ORDER = (
    "single:",
    "post",
    "tie:tcc",
    "tie:top1",
    "tie:entropy",
    "tie:margin",
    "avg:mean",
    "avg:product",
    "avg:",
    "vote",
    "oracle",
)


def method_rank(method: str) -> tuple[int, str]:
    """Sort key giving the paper's row order: single models, post, TIE scorings, the
    issue-9 baselines (avg:mean, avg:product, vote, oracle: the ceiling), then anything else."""
    for i, prefix in enumerate(METHOD_ORDER):
        if method == prefix or (prefix.endswith(":") and method.startswith(prefix)):
            return i, method
    return len(METHOD_ORDER), method
