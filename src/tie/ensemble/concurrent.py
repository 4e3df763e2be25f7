"""Members decoding a round's steps at once (run setting `placement=per_model`).

The loop's one call per round is `MemberWorkers.decode`: every member decodes its n steps, one
after another (`sequential`, placement=shared) or each in its own worker thread on its own device
(`concurrent`, placement=per_model), meeting only at the round's assessment and relay. torch
releases the GIL inside its ops, so on a GPU per member the forwards overlap, and on the CPU two
members with one intra-op thread each use two cores.

Both modes give the same predictions and traces: a member's decode reads and writes only its own
trajectory (its own canvas, histories and sampling generator, `DecodeState.generator`); the step
events a worker reports are buffered and replayed to the run's tracer in member order after the
join, i.e. the order a sequential round reports them in; the tie rule's generator is used only in
the loop's thread. On the CPU each worker runs `threads // members` intra-op threads (at least
one) while the round's decodes run; the run's count is restored for the rest of the round.
Intra-op thread counts can change float reductions, so concurrent and sequential are compared at
equal per-op thread counts (tests: one thread).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

MEMBERS = ("sequential", "concurrent")  # run_method(..., members=), CycleSpec.members


def members_for(placement: str) -> str:
    """The members mode of a run placement: one worker per member under per_model."""
    return "concurrent" if placement == "per_model" else "sequential"


def member_threads(n_members: int) -> int:
    """Intra-op CPU threads each of `n_members` concurrent members gets (at least one)."""
    return max(1, torch.get_num_threads() // n_members)


class MemberError(RuntimeError):
    """A member's worker failed: names the member; the worker's exception is the cause."""


class CallBuffer:
    """Stands in for a tracer in a worker: keeps its calls to replay them in the loop's thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: self.calls.append((name, a, k))

    def replay(self, target: Any) -> None:
        for name, a, k in self.calls:
            getattr(target, name)(*a, **k)


def buffered(observer: Any) -> tuple[Any, CallBuffer | None]:
    """(observer for a worker, its buffer): a copy writing to a CallBuffer when it traces steps.

    The copy builds its rows in the worker, from the step's state as it was then; only the
    tracer calls wait for the replay. An observer tracing steps without a `tracer` is refused.
    """
    if not getattr(observer, "wants_steps", False):
        return observer, None
    if not hasattr(observer, "tracer"):
        raise TypeError(f"{type(observer).__name__} traces steps without a tracer: no replay")
    buf = CallBuffer()
    worker = copy.copy(observer)
    worker.tracer = buf
    return worker, buf


class MemberWorkers:
    """Runs every member's decode of a round, sequentially or one worker thread per member."""

    def __init__(self, trajs: list[Any], mode: str = "sequential") -> None:
        if mode not in MEMBERS:
            raise ValueError(f"members must be one of {list(MEMBERS)}, got {mode!r}")
        self.trajs = trajs
        self.concurrent = mode == "concurrent" and len(trajs) > 1
        self.pools: list[ThreadPoolExecutor] = []  # one thread per member, for the whole run
        self.threads = member_threads(len(trajs))

    def __enter__(self) -> MemberWorkers:
        if self.concurrent:
            self.pools = [ThreadPoolExecutor(1, f"tie-member-{t.name}") for t in self.trajs]
        return self

    def __exit__(self, *exc: Any) -> None:
        for pool in self.pools:
            pool.shutdown(wait=True)
        self.pools = []

    def decode(
        self,
        n: int,
        rnd: int,
        observer: Any,
        after: Callable[[int, Any, torch.Tensor], None] | None = None,
    ) -> list[torch.Tensor]:
        """Every member decodes up to `n` steps; returns per member [B] the rows that stepped.
        `after(i, traj, ran)` runs in the loop's thread after member i's decode (and its
        replayed steps), in member order, as a sequential round runs it."""
        if not self.concurrent:
            out = []
            for i, t in enumerate(self.trajs):
                out.append(t.decode(n, rnd, observer))
                if after is not None:
                    after(i, t, out[-1])
            return out
        assert self.pools, "MemberWorkers.decode outside its `with` block"
        jobs, threads = [], torch.get_num_threads()
        modes = (torch.is_grad_enabled(), torch.is_inference_mode_enabled())  # thread-local
        for t, pool in zip(self.trajs, self.pools):
            worker_obs, buf = buffered(observer)
            jobs.append((pool.submit(self._work, t, n, rnd, worker_obs, modes), buf))
        outcomes = [f.exception() for f, _ in jobs]  # every worker joins: no half-run round
        torch.set_num_threads(threads)
        for t, exc in zip(self.trajs, outcomes):
            if exc is not None:
                first = (str(exc).splitlines() or [""])[0]  # one line; the cause has the rest
                raise MemberError(
                    f"member {t.name!r} failed in round {rnd} on {t.dev}: "
                    f"{type(exc).__name__}: {first}"
                ) from exc
        ran = [f.result() for f, _ in jobs]
        for i, (t, (_, buf)) in enumerate(zip(self.trajs, jobs)):
            if buf is not None:
                buf.replay(observer.tracer)
            if after is not None:
                after(i, t, ran[i])
        return ran

    def _work(self, t: Any, n: int, rnd: int, observer: Any, modes: tuple) -> torch.Tensor:
        """One member's round in its worker: its device, `threads` intra-op threads, the loop
        thread's grad and inference modes."""
        if t.dev.type == "cuda":
            torch.cuda.set_device(t.dev)
        else:
            torch.set_num_threads(self.threads)
        with torch.set_grad_enabled(modes[0]), torch.inference_mode(modes[1]):
            return t.decode(n, rnd, observer)
