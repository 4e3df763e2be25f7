"""The issue's first failing command, `tie-run decoding=default ensemble=default`, runs to the end
on the shipped zoo: the paper's decoding (blocks of 16, strict) on the testbed task's canvas,
every method of the default comparison, relays included."""

from __future__ import annotations

import json

import pandas as pd
import paper_helpers as ph


def test_tie_run_decoding_default_ensemble_default_on_the_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = tmp_path / "run"
    ph.tie_run(
        ["decoding=default", "ensemble=default", "data.limit=2", "logger=none", "progress=false",
         "stats.n_boot=20", f"hydra.run.dir={run}"],
        monkeypatch,
    )  # fmt: skip
    meta = json.loads((run / "meta.json").read_text())
    methods = meta["methods"]
    assert {"post", "tie:tcc", "tie:top1", "tie:entropy", "tie:margin"} <= set(methods)
    assert meta["n_problems"] == 2
    assert all(c["gen_length"] % 16 == 0 for c in meta["canvas"]), meta["canvas"]
    rows = ph.jsonl(run / "predictions.jsonl")
    assert len(rows) == 2 * len(methods) and all(r["nfe"] > 0 for r in rows)
    rounds = pd.read_parquet(run / "traces" / "rounds.parquet")
    assert rounds["replaced"].astype(bool).any(), "no relay between the zoo members"
