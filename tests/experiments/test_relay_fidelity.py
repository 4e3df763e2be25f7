"""experiments/relay_fidelity/measure.py: its commit orders and character bookkeeping (fast, on the
scripted char backends), and the README command end to end on ../shared (shared_data)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest
from fakes import make_scripted_backend

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "relay_fidelity" / "measure.py"


def load():
    spec = importlib.util.spec_from_file_location("relay_measure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_commit_orders_follow_the_policies_block_by_block():
    m = load()
    conf = [0.1 * (i % 10) for i in range(m.REGION)]
    low = m.commit_steps(conf, m.REGION, "low_confidence")
    assert len(low) == m.REGION and all(len(s) == 1 for s in low)
    assert sorted(p for s in low[:16] for p in s) == list(range(16))  # block 0 first
    assert low[0] == [9]  # the most confident position of block 0
    topk = m.commit_steps(conf, m.REGION, "topk")
    assert all(len(s) == 2 for s in topk) and len(topk) == m.REGION // 2
    thr = m.commit_steps(conf, m.REGION, "threshold")
    assert sorted(thr[0]) == [9]  # 0.9 >= threshold; then one per step
    # EOS padding after the text counts as certain: committed first in its block
    pad = m.commit_steps([0.5] * 10, 10, "low_confidence")
    assert pad[0] == [10]


def test_kept_chars_counts_text_held_in_order_on_committed_characters():
    m = load()
    b = make_scripted_backend("b")
    member = m.Member("b", b, {}, Counter())
    text = "the cat sat"
    ids = b.tokenizer.encode(text, add_special_tokens=False)
    committed = [True] * len(text)
    assert m.kept_chars(ids + [b.mask_id], member, text, committed) == len(text)
    # a run whose characters were never committed in the source is not counted
    committed = [c < 4 for c in range(len(text))]
    assert m.kept_chars(ids, member, text, committed) == 0  # the whole run spans uncommitted text
    head = b.tokenizer.encode("the ", add_special_tokens=False)
    assert m.kept_chars(head + [b.mask_id] * 3, member, text, committed) == 4


REAL_OUTPUTS = SCRIPT.parents[3] / "shared" / "data" / "real-outputs" / "llada-8b-instruct"


@pytest.mark.shared_data
@pytest.mark.skipif(
    not REAL_OUTPUTS.is_dir(),
    reason=f"optional shared-data tier: {REAL_OUTPUTS} (../shared/data from the repo root) is "
    "absent; nothing to check on this machine",
)
def test_readme_command_runs_on_the_real_outputs(tmp_path):
    m = load()
    assert m.DATA == REAL_OUTPUTS  # the skip above looks where the script reads
    out = tmp_path / "rows.json"
    assert m.main(["--per-file", "1", "--rules", "drop", "chars", "--out", str(out)]) == 0
    import json

    rows = json.loads(out.read_text())
    assert len(rows) == 2 * len(m.SETTINGS)
    by = {(r["setting"], r["rule"]): r for r in rows}
    for name, _, _ in m.SETTINGS:
        assert 0.0 <= by[(name, "drop")]["chars_kept"] <= by[(name, "chars")]["chars_kept"] <= 1.0
