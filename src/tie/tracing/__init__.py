"""Parquet traces of every run: steps, rounds and final candidates (see schema.py)."""

from tie.tracing.checks import change_counts, recompute_candidate_tcc, recompute_round_tcc
from tie.tracing.schema import CANDIDATES, ROUNDS, STEPS
from tie.tracing.writer import Tracer, make_tracer, merge_ranks, read_traces

__all__ = [
    "CANDIDATES",
    "ROUNDS",
    "STEPS",
    "Tracer",
    "make_tracer",
    "merge_ranks",
    "read_traces",
    "change_counts",
    "recompute_candidate_tcc",
    "recompute_round_tcc",
]
