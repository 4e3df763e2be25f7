"""tie-run with `placement=per_model devices=[cpu,cpu]` (issue 23): the members decode each round
concurrently (one worker each) through the real decoder, TIE engine and tracer, and the run's
predictions and traces equal `placement=shared`'s (members one after another).
Cost: about 10 s on one core (two tiny one-layer models, two problems, two runs).
"""

from __future__ import annotations

import json
import threading

import pandas as pd

from tie.ensemble.trajectory import Trajectory
from tie.run import execute
from tie.tracing import read_traces

METHODS = "ensemble.methods=[single:llada-a,post,tie:tcc,tie:top1]"
KEEP = ("id", "method", "prediction", "nfe", "selected_model", "leaders", "candidates")


def run(make_cfg, tmp_path, *placement: str) -> tuple[list[dict], dict]:
    run_dir = tmp_path / ("-".join(placement) or "shared").replace("/", "_")
    execute(make_cfg("api=orch_fakes:tiny_real_api", "task=synth_math", "decoding=testbed",
                     "models=[llada-a,dream-b]", "data.limit=2", "data.batch_size=2",
                     "ensemble.interval=4", METHODS, *placement, run_dir=run_dir))  # fmt: skip
    rows = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    return [{k: r.get(k) for k in KEEP} for r in rows], read_traces(run_dir / "traces")


def test_per_model_on_two_cpus_runs_members_concurrently_and_equals_shared(
    make_cfg, tmp_path, monkeypatch
):
    threads: list[set[str]] = []
    decode = Trajectory.decode

    def spy(self, *args, **kwargs):
        threads[-1].add(threading.current_thread().name)
        return decode(self, *args, **kwargs)

    monkeypatch.setattr(Trajectory, "decode", spy)
    threads.append(set())
    shared, shared_traces = run(make_cfg, tmp_path)
    threads.append(set())
    per_model, traces = run(make_cfg, tmp_path, "placement=per_model", "devices=[cpu,cpu]")
    workers = [{t for t in ts if t.startswith("tie-member")} for ts in threads]
    assert not workers[0] and len(workers[1]) == 2, threads  # post, tie: one worker per member
    assert len(shared) == 2 * 4 and per_model == shared
    assert any(r["leaders"] for r in shared if r["method"].startswith("tie"))  # relays happened
    assert set(traces) == set(shared_traces) and len(traces["steps"]) > 0
    for name, table in traces.items():
        pd.testing.assert_frame_equal(table, shared_traces[name], check_exact=True, obj=name)


def test_tie_run_with_unbatched_scoring_equals_batched(make_cfg, tmp_path):
    """`ensemble.options.batched_scoring=false` through tie-run to the end: one forward per
    (member, scorer) pair instead of one per scorer, the same predictions and traces."""
    batched, batched_traces = run(make_cfg, tmp_path)
    override = "ensemble.options.batched_scoring=false"
    unbatched, traces = run(make_cfg, tmp_path, override)
    plan = json.loads((tmp_path / override / "plan.json").read_text())
    assert plan["options"]["batched_scoring"] is False  # the option reached the run
    assert len(batched) == 2 * 4 and unbatched == batched
    assert any(r["leaders"] for r in batched if r["method"] == "tie:top1")  # cross-model scored
    for name, table in traces.items():
        pd.testing.assert_frame_equal(table, batched_traces[name], check_exact=True, obj=name)
