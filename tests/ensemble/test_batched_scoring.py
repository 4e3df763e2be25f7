"""Batched cross-model scoring (issue 23): one forward per scorer per round over every source's
relayed canvases gives the same scores, leaders, predictions and traces as one forward per
(source, scorer) pair, in M instead of M x M model calls per round.

Members: the three zoo models (llada-a and llada-c share a tokenizer, so a relay between them
copies ids; dream-b has its own, so scoring and relays with it go through the text bridge), on
three synth_math problems, with per-model calibration temperatures (the calibrated forward) and
without. Fast tier: 8 tests, about 50 s of CPU time (93 s wall on the loaded 2-core VM).
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.ensemble.rules import scorings
from tie.tracing import Tracer, read_traces

torch.set_num_threads(1)

ZOO = ("llada-a", "dream-b", "llada-c")
CALIBRATION = {"llada-a": 0.7, "dream-b": 1.6, "llada-c": 1.1}


@pytest.fixture(scope="module")
def zoo():
    from tie.models import load_backend
    from tie.tasks import get_task

    task = get_task("synth_math", split="test", seed=0, n=3)
    rows = task.load().to_list()
    decode = DecodeConfig(block_length=8, rounding="ceil")
    members = [Constituent(m, load_backend(f"zoo:{m}"), decode) for m in ZOO]
    return members, task, rows


class ForwardCounter:
    """Counts the backends' forwards (`logits` calls, with their batch sizes) made while a round
    is being scored; one list of (model, rows) per scored round."""

    def __init__(self, monkeypatch, members) -> None:
        self.rounds: list[list[tuple[str, int]]] = []
        self.scoring = False
        for c in members:
            monkeypatch.setattr(c.backend, "logits", self._wrap(c.name, c.backend.logits))
        inner = scorings._scores_by_scorer

        def scored(r, rows):
            self.rounds.append([])
            self.scoring = True
            try:
                return inner(r, rows)
            finally:
                self.scoring = False

        monkeypatch.setattr(scorings, "_scores_by_scorer", scored)

    def _wrap(self, name, logits):
        def counted(input_ids, attention_mask=None, span=None):
            if self.scoring:
                self.rounds[-1].append((name, int(input_ids.shape[0])))
            if span is None:
                return logits(input_ids, attention_mask)
            return logits(input_ids, attention_mask, span=span)

        return counted


def run(members, task, rows, method, tmp_path, **options):
    opts = EnsembleOptions(interval=8, **options)
    prompts = [task.build_prompt(r) for r in rows]
    with Tracer(tmp_path) as tracer:
        outs = run_method(method, members, prompts, task, opts, tracer, rows=rows)
    return outs, read_traces(tmp_path)


def assert_same(a, b) -> None:
    """Identical outputs (but wall time) and identical trace tables, scores bit for bit."""
    (outs_a, t_a), (outs_b, t_b) = a, b
    for x, y in zip(outs_a, outs_b, strict=True):
        assert (x.prediction, x.selected_model, x.leaders, x.nfe, x.candidates, x.extra) == (
            y.prediction,
            y.selected_model,
            y.leaders,
            y.nfe,
            y.candidates,
            y.extra,
        )
    for table in ("steps", "rounds", "candidates"):
        pd.testing.assert_frame_equal(t_a[table], t_b[table], check_exact=True)


CASES = [  # (scoring, cross_model, calibration)
    ("top1", True, True),
    ("entropy", True, True),
    ("margin", True, True),
    ("top1", False, True),
    ("margin", True, False),
    ("entropy", False, False),
]


@pytest.mark.parametrize(("scoring", "cross", "calibrated"), CASES)
def test_batched_scoring_is_the_unbatched_one_in_m_forwards(
    zoo, tmp_path, monkeypatch, scoring, cross, calibrated
):
    members, task, rows = zoo
    m = len(members)
    extra = {"cross_model": cross, "calibration": CALIBRATION if calibrated else None}
    got = {}
    for batched in (True, False):
        counter = ForwardCounter(monkeypatch, members)
        got[batched] = run(
            members, task, rows, f"tie:{scoring}", tmp_path / str(batched),
            batched_scoring=batched, **extra,
        )  # fmt: skip
        monkeypatch.undo()
        assert counter.rounds, "no round was scored"
        rounds = got[batched][1]["rounds"]
        relayed = rounds[rounds.relayed].groupby("round")["id"].nunique().tolist()
        # the rounds that relayed, each with the number of problems it scored
        assert len(counter.rounds) == len(relayed)
        for calls, n_rows in zip(counter.rounds, relayed):
            if not cross:  # each source by itself: one forward per member either way
                assert sorted(calls) == sorted((c.name, n_rows) for c in members)
            elif batched:  # one forward per scorer over every source's (distinct) canvases
                assert sorted(name for name, _ in calls) == sorted(c.name for c in members)
                assert all(n_rows <= k <= m * n_rows for _, k in calls)
            else:  # one forward per (source, scorer)
                assert sorted(calls) == sorted((c.name, n_rows) for c in members for _ in range(m))
    assert_same(got[True], got[False])
    outs, traces = got[True]
    rounds = traces["rounds"]
    assert set(rounds[rounds.replaced]["bridge"]) == {"copy", "text"}  # both relay paths ran
    assert set(rounds[rounds.relayed].logit_source) == {"cross" if cross else "source"}
    per_round = m * m if cross else m  # NFE: forwards per problem, batched or not
    steps = traces["steps"].groupby("id").size()  # one row per member forward of a problem
    for row, out in zip(rows, outs, strict=True):
        assert out.leaders and out.nfe == steps[row["id"]] + per_round * len(out.leaders)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_repeated_canvas_scores_alike_anywhere_in_a_batch(zoo, threads):
    """Ties stay ties: a canvas that two members hold scores bit for bit alike wherever it sits
    in a batched forward (with two threads this CPU's BLAS rounds rows of one small call
    differently by their position; repeats are scored once), and a batch without repeats is
    scored in its own order."""
    from tie.ensemble.trace import NoObserver
    from tie.ensemble.trajectory import Trajectory

    members, task, rows = zoo
    prompts = [task.build_prompt(r) for r in rows]
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for c in members:
            t = Trajectory(c, prompts, task, EnsembleOptions())
            t.decode(12, 0, NoObserver())
            x, am = t.state.x, t.state.attention_mask
            first, index = scorings._distinct_rows(x, am)
            assert first.tolist() == index.tolist() == list(range(len(rows)))
            for temps in (None, CALIBRATION):
                for order in ([2, 0, 1, 0, 2], [1, 1, 1], [0, 2, 0, 1, 2, 2, 1, 0, 1]):
                    got = scorings._batch_scores(t, x[order], am[order], temps)
                    for k, v in got.items():
                        for i in set(order):
                            same = v[[j for j, o in enumerate(order) if o == i]]
                            assert (same == same[0]).all(), (c.name, k, temps, order)
    finally:
        torch.set_num_threads(old)
