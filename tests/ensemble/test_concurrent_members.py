"""Concurrent members (issue 23, placement=per_model): every member decodes its round's steps in
its own worker thread, and the run's predictions, candidates and traces are exactly those of the
sequential loop. Tiny random LLaDA + Dream members with different tokenizers (cross-tokenizer
relays and cross-model scoring), greedy and sampled; a failing member names itself.
Cost: about 10 s on one core (tiny one-layer models, two problems, 20 steps per member).
"""

from __future__ import annotations

import dataclasses
import threading

import pandas as pd
import pytest
import torch
from fakes import TinyTask

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.ensemble.concurrent import MemberError
from tie.ensemble.trajectory import Trajectory
from tie.tracing import Tracer, read_traces

torch.set_num_threads(1)

PROMPTS = ["1+1?", "What is 2 and 3?"]
ROWS = [{"id": "a", "gold": "2"}, {"id": "b", "gold": "5"}]
GREEDY = DecodeConfig(block_length=4, rounding="ceil")
SAMPLED = DecodeConfig(block_length=4, rounding="ceil", temperature=0.8, seed=7)


def members(tiny_members, decode: DecodeConfig) -> list[Constituent]:
    """llada + dream (different tokenizers) decoding with `decode`."""
    return [Constituent(c.name, c.backend, decode) for c in tiny_members[:2]]


def run(tmp_path, mode: str, method: str, cs, opts: EnsembleOptions):
    """(outputs without wall time, traces) of one method run with members `mode`."""
    out_dir = tmp_path / f"{method.replace(':', '_')}-{mode}"
    with Tracer(out_dir) as tracer:
        outs = run_method(method, cs, PROMPTS, TinyTask(), opts, tracer, rows=ROWS, members=mode)
    plain = [{k: v for k, v in dataclasses.asdict(o).items() if k != "wall_s"} for o in outs]
    return plain, read_traces(out_dir)


def assert_same_traces(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for name in a:
        if isinstance(a[name], pd.DataFrame):
            assert len(a[name]) > 0 or name != "steps", name
            pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@pytest.mark.parametrize("decode", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("post", {}),
        ("tie:tcc", {}),
        ("tie:top1", {"cross_model": True}),  # logit scoring, every member scores every canvas
        ("tie:tcc", {"tie_break": "random", "experimental": {"count_last_commit": True}}),
    ],
    ids=["post", "tcc", "top1-cross", "tcc-random-lookahead"],
)
def test_concurrent_members_match_sequential(tiny_members, tmp_path, method, extra, decode):
    cs = members(tiny_members, decode)
    opts = EnsembleOptions(interval=4, **extra)
    seq, seq_traces = run(tmp_path, "sequential", method, cs, opts)
    conc, conc_traces = run(tmp_path, "concurrent", method, cs, opts)
    assert conc == seq
    assert_same_traces(conc_traces, seq_traces)
    if method.startswith("tie"):  # relays happened, across tokenizers
        assert all(o["leaders"] for o in seq)
        assert (seq_traces["rounds"]["replaced"]).any()


def test_concurrent_members_decode_in_their_own_threads(tiny_members, monkeypatch):
    """The round's decodes run in one worker thread per member, not in the caller's thread."""
    seen: list[tuple[str, str]] = []
    decode = Trajectory.decode

    def spy(self, *args, **kwargs):
        seen.append((self.name, threading.current_thread().name))
        return decode(self, *args, **kwargs)

    monkeypatch.setattr(Trajectory, "decode", spy)
    run_method("tie:tcc", members(tiny_members, GREEDY), PROMPTS, TinyTask(),
               EnsembleOptions(interval=4), members="concurrent")  # fmt: skip
    by_member = {name: {t for n, t in seen if n == name} for name in ("llada", "dream")}
    main = threading.main_thread().name
    assert all(threads and main not in threads for threads in by_member.values()), seen
    assert not by_member["llada"] & by_member["dream"], by_member
    seen.clear()
    run_method("tie:tcc", members(tiny_members, GREEDY), PROMPTS, TinyTask(),
               EnsembleOptions(interval=4))  # fmt: skip
    assert {t for _, t in seen} == {main}  # sequential: the caller's thread


class FailingBackend:
    """A backend whose forwards fail after `ok` calls (a member's worker raising mid-round)."""

    def __init__(self, inner, ok: int):
        self._inner, self._ok = inner, ok

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def logits(self, *args, **kwargs):
        self._ok -= 1
        if self._ok < 0:
            raise RuntimeError("device lost")
        return self._inner.logits(*args, **kwargs)


@pytest.mark.timeout(120)
def test_a_failing_member_surfaces_its_error_not_a_hang(tiny_members):
    llada, dream = members(tiny_members, GREEDY)
    broken = Constituent("dream", FailingBackend(dream.backend, ok=6), GREEDY)
    with pytest.raises(MemberError, match=r"member 'dream' failed in round 1 .*device lost") as e:
        run_method("tie:tcc", [llada, broken], PROMPTS, TinyTask(), EnsembleOptions(interval=4),
                   members="concurrent")  # fmt: skip
    assert "\n" not in str(e.value)
    assert isinstance(e.value.__cause__, RuntimeError)


def test_unknown_members_mode_is_refused(tiny_members):
    with pytest.raises(ValueError, match="members must be one of"):
        run_method("post", members(tiny_members, GREEDY), PROMPTS, TinyTask(),
                   EnsembleOptions(), members="parallel")  # fmt: skip
