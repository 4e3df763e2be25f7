"""Column schemas of the trace tables; the analysis and the checks read these names."""

from __future__ import annotations

import pyarrow as pa

STEPS = pa.schema(
    [
        ("id", pa.string()),
        ("method", pa.string()),
        ("model", pa.string()),
        ("round", pa.int32()),
        ("step", pa.int32()),
        ("answer_top1", pa.list_(pa.int64())),
        ("in_A", pa.list_(pa.bool_())),
        ("mean_top1_prob", pa.float64()),
        ("mean_entropy", pa.float64()),
        ("mean_margin", pa.float64()),
        ("n_masked", pa.int32()),
        ("committed_pos", pa.list_(pa.int32())),
        ("committed_ids", pa.list_(pa.int64())),
        # a forward without a commit after the round's last step (count_last_commit)
        ("lookahead", pa.bool_()),
        # change_positions=answer_and_block only (null otherwise), over the generation region: the
        # top-1 in the current block and the answer, and the positions the change count tracks
        ("gen_top1", pa.list_(pa.int64())),
        ("gen_in", pa.list_(pa.bool_())),
    ]
)

ROUNDS = pa.schema(
    [
        ("id", pa.string()),
        ("method", pa.string()),
        ("round", pa.int32()),
        ("model", pa.string()),
        ("score_tcc", pa.float64()),
        ("score_top1", pa.float64()),
        ("score_entropy", pa.float64()),
        ("score_margin", pa.float64()),
        ("logit_source", pa.string()),  # cross | source | last_step (free, tcc methods)
        ("selecting", pa.string()),  # the score that chose the leader
        ("leader", pa.string()),
        ("tied", pa.bool_()),
        ("tie_rule", pa.string()),
        # the value tie_rule compares (own_top1 / tracked_top1); null for rules without one
        ("tie_key", pa.float64()),
        ("gated", pa.bool_()),
        ("relayed", pa.bool_()),  # a relay happened for this problem after this round
        ("budget_exit", pa.bool_()),  # the problem left the relay cycle on its step budget
        ("replaced", pa.bool_()),  # this model's state was replaced by the leader's
        ("bridge", pa.string()),  # none | copy | text
        ("tokens_dropped", pa.int32()),
        ("tokens_truncated", pa.int32()),
        ("roundtrip_mismatch", pa.bool_()),
    ]
)

CANDIDATES = pa.schema(
    [
        ("id", pa.string()),
        ("method", pa.string()),
        ("model", pa.string()),
        ("text", pa.string()),
        ("reasoning", pa.string()),
        ("extracted", pa.string()),
        ("correct", pa.bool_()),
        ("change_count", pa.float64()),
        ("mean_top1", pa.float64()),
        ("rounds_led", pa.int32()),
        ("selected", pa.bool_()),
    ]
)

TABLES = {"steps": STEPS, "rounds": ROUNDS, "candidates": CANDIDATES}
# Columns a row may leave out (written as null): those only some options produce.
OPTIONAL = {"steps": frozenset({"gen_top1", "gen_in"}), "rounds": frozenset({"tie_key"})}
