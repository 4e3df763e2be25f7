"""Methods: what `run_method` runs by name, each registered (`single`, `post`, `tie`; the
baselines `avg`, `vote`, `oracle` in `tie.ensemble.baselines`).

A method builds trajectories, runs the loop (`tie.ensemble.loop`) with its cycle spec and turns
the final selection into `MethodOutput`s. `post` can take its members' decodes from the
`single:<m>` methods run before it on the same batch (`DecodeShare`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from tie.ensemble.concurrent import MEMBERS
from tie.ensemble.cycle import CycleRecord, CycleSpec
from tie.ensemble.loop import final_selection, run_cycle
from tie.ensemble.options import Candidate, Constituent, EnsembleOptions, MethodOutput
from tie.ensemble.registry import METHODS, SCORINGS, register_method
from tie.ensemble.trace import observer_for
from tie.ensemble.trajectory import Trajectory

NO_RELAY = 1 << 30  # steps per round of the methods that never relay: one round to the end


def run_method(
    method: str,
    constituents: list[Constituent],
    prompts: list[str],
    task: Any,
    options: EnsembleOptions,
    tracer: Any = None,
    rows: list[dict] | None = None,
    share: DecodeShare | None = None,
    members: str = "sequential",
) -> list[MethodOutput]:
    """Run one named method on a batch of prompts (see docs/CONTRACTS.md "Ensemble").

    `rows` (optional, the task rows of the prompts) gives trace ids and lets candidates be
    extracted and graded in candidates.parquet; `vote` needs it. `share` (optional, one per
    batch): `single:<m>` leaves its decode there and `post` reuses them (see DecodeShare).
    `members`: `sequential`, or `concurrent` (one worker per member, placement=per_model; same
    predictions and traces, tie.ensemble.concurrent).
    """
    options.validate()
    validate_constituents(constituents, options)
    ids = problem_ids(prompts, rows)
    if not prompts:
        return []
    kind, arg = parse_method(method, [c.name for c in constituents], options)
    if kind != "single" and len(constituents) < 2:
        names = [c.name for c in constituents]
        raise ValueError(f"method {method!r} needs at least two constituents, got {names}")
    if members not in MEMBERS:
        raise ValueError(f"members must be one of {list(MEMBERS)}, got {members!r}")
    batch = Batch(prompts, task, options, tracer, rows, ids, share, members)
    return METHODS.get(kind)(method, arg, constituents, batch)


@dataclass
class Batch:
    """What a method gets besides its name, argument and constituents: one batch of prompts and
    the run's settings for it (`run_method`'s arguments, problem ids resolved)."""

    prompts: list[str]
    task: Any
    options: EnsembleOptions
    tracer: Any
    rows: list[dict] | None
    ids: list[str]
    share: DecodeShare | None
    members: str  # sequential | concurrent: how a round's members decode (tie.ensemble.concurrent)


def parse_method(method: str, names: list[str], options: EnsembleOptions) -> tuple[str, str | None]:
    """(kind, argument): ('single', model) | ('post', None) | ('tie', scoring) | a baseline's
    ('avg', rule) | ('vote', None) | ('oracle', None); raises naming the valid methods."""
    kind, _, arg = method.partition(":")
    if kind == "single" and arg not in names:
        raise ValueError(f"method {method!r}: no constituent named {arg!r}; have {names}")
    if kind == "tie":
        arg = arg or options.scoring
        if arg not in SCORINGS:
            raise ValueError(
                f"method {method!r}: unknown scoring {arg!r}; valid: {SCORINGS.names()}"
            )
    if kind not in METHODS or (kind in ("post", "vote", "oracle") and arg):
        raise ValueError(
            f"unknown method {method!r}; expected single:<name>, post, "
            f"tie:<{'|'.join(SCORINGS.names())}>, avg:<mean|product>, vote, oracle"
        )
    return kind, arg or None


def validate_constituents(constituents: list[Constituent], options: EnsembleOptions) -> None:
    names = [c.name for c in constituents]
    if not constituents:
        raise ValueError("no constituents given")
    if len(set(names)) != len(names):
        raise ValueError(f"constituent names must be unique, got {names}")
    if options.final_selection == "best_model" and options.best_model not in names:
        raise ValueError(f"best_model {options.best_model!r} is not a constituent ({names})")
    for name in options.calibration or {}:
        if name not in names:
            raise ValueError(f"calibration names unknown constituent {name!r} ({names})")


def problem_ids(prompts: list[str], rows: list[dict] | None) -> list[str]:
    if rows is None:
        return [str(i) for i in range(len(prompts))]
    if len(rows) != len(prompts):
        raise ValueError(f"{len(rows)} rows for {len(prompts)} prompts")
    return [str(r["id"]) for r in rows]


def decode_all(
    constituents: list[Constituent], b: Batch, observer: Any, scoring: str | None = None
) -> tuple[list[Trajectory], CycleRecord]:
    """Trajectories of `constituents` decoded through the loop (relaying when `scoring`)."""
    trajs = [Trajectory(c, b.prompts, b.task, b.options) for c in constituents]
    interval = b.options.interval if scoring else NO_RELAY
    spec = CycleSpec(b.options, scoring, interval, b.members)
    return trajs, run_cycle(trajs, spec, observer)


def outputs(
    method: str,
    trajs: list[Trajectory],
    record: CycleRecord,
    b: Batch,
    wall_s: float,
    observer: Any,
    choose: Any = None,
) -> list[MethodOutput]:
    """Final selection and outputs; `choose(candidates per row, default [B]) -> [B]` overrides."""
    rows, task = b.rows, b.task
    chosen, counts, top1 = final_selection(trajs, record, b.options)
    texts = [t.texts() for t in trajs]
    nfe = sum(t.nfe for t in trajs) + record.scoring_nfe
    all_cands = []
    for b in range(len(texts[0])):
        cands = []
        for i, t in enumerate(trajs):
            answer, reasoning = texts[i][b]
            cand = Candidate(
                model=t.name,
                text=answer,
                reasoning=reasoning,
                change_count=float(counts[i, b]),
                mean_top1=float(top1[i, b]),
                rounds_led=int(record.rounds_led[i, b]),
            )
            if rows is not None:
                cand.extracted, cand.correct = task.score(answer, rows[b])
            cands.append(cand)
        all_cands.append(cands)
    if choose is not None:
        chosen = choose(all_cands, chosen)
    outs = []
    for b, cands in enumerate(all_cands):
        sel = int(chosen[b])
        observer.on_candidates(b, cands, sel)
        outs.append(
            MethodOutput(
                method=method,
                prediction=cands[sel].text,
                reasoning=cands[sel].reasoning,
                selected_model=trajs[sel].name,
                nfe=int(nfe[b]),
                wall_s=wall_s / len(all_cands),
                candidates=[dataclasses.asdict(c) for c in cands],
                leaders=list(record.leaders[b]),
                extra={"budget_exit": True} if bool(record.budget_exit[b]) else {},
            )
        )
    return outs


@register_method("tie")
def tie(method: str, scoring: str, constituents: list[Constituent], b: Batch):
    """TIE with the registered scoring `scoring` (`tie:<scoring>`)."""
    t0 = time.perf_counter()
    observer = observer_for(b.tracer, method, b.ids, b.options, scoring)
    trajs, record = decode_all(constituents, b, observer, scoring)
    return outputs(method, trajs, record, b, time.perf_counter() - t0, observer)


@register_method("single")
def single(method: str, model: str, constituents: list[Constituent], b: Batch):
    """One constituent decoding alone; leaves its decode in `share` for `post`."""
    t0 = time.perf_counter()
    chosen = [c for c in constituents if c.name == model]
    share, tracer = b.share, b.tracer
    recorder = StepRecorder(tracer) if share is not None and tracer is not None else None
    observer = observer_for(recorder or tracer, method, b.ids, b.options)
    trajs, record = decode_all(chosen, b, observer)
    wall = time.perf_counter() - t0
    if share is not None:
        steps = recorder.steps if recorder is not None else []
        share.put(chosen[0], b.options, b.ids, SharedDecode(trajs[0], steps, wall))
    return outputs(method, trajs, record, b, wall, observer)


@register_method("post")
def post(method: str, _: None, constituents: list[Constituent], b: Batch):
    """Every constituent decodes alone to the end, then the final selection (TIE_SPEC's
    post-generation ensemble); takes the `single:<m>` decodes from `share` when all are there."""
    t0 = time.perf_counter()
    observer = observer_for(b.tracer, method, b.ids, b.options)
    reused = b.share.get_all(constituents, b.options, b.ids) if b.share is not None else None
    if reused is None:
        trajs, record = decode_all(constituents, b, observer)
        wall = time.perf_counter() - t0
    else:  # their step rows again under `post` (what a fresh decode writes, in its order)
        if observer.wants_steps:
            for d in reused:
                for row in d.steps:
                    b.tracer.add_step({**row, "method": "post"})
        trajs = [d.trajectory for d in reused]
        record = CycleRecord.empty(len(trajs), len(b.ids), b.options.tie_break_seed)
        wall = sum(d.wall_s for d in reused) + time.perf_counter() - t0
    return outputs(method, trajs, record, b, wall, observer)


class StepRecorder:
    """Tracer proxy that also keeps the step rows a decode writes (replayed for `post`)."""

    def __init__(self, tracer: Any):
        self._tracer = tracer
        self.steps: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)

    def add_step(self, row: dict[str, Any]) -> None:
        self.steps.append(row)
        self._tracer.add_step(row)


@dataclass
class SharedDecode:
    """A finished `single:<m>` decode that `post` can take as its member m's decode."""

    trajectory: Trajectory
    steps: list[dict[str, Any]]
    wall_s: float


class DecodeShare:
    """Decodes of one batch shared between methods (`post` takes its members' decodes from the
    `single:<m>` methods run before it on the same prompts).

    `post` decodes every constituent alone to the end and then selects: exactly what each
    `single:<m>` decodes, given the same prompts, constituent and options (decoding is
    deterministic: greedy, or noise from a generator seeded per decode). Reusing those decodes
    gives identical predictions, candidates and traces with one decode per constituent instead
    of two. Accounting: `post`'s `nfe` is still the sum of its members' forwards and its
    `wall_s` the reused decodes' wall time plus its own selection time, i.e. what `post` costs
    on its own; the compute saved shows in the run's total wall time only.
    """

    def __init__(self) -> None:
        self.decodes: dict[tuple[str, str, str], SharedDecode] = {}

    @staticmethod
    def key(c: Constituent, options: EnsembleOptions, ids: list[str]) -> tuple[str, str, str]:
        return (c.name, repr(options), repr((ids, c.decode_config)))

    def put(self, c: Constituent, options: EnsembleOptions, ids: list[str], d: SharedDecode):
        self.decodes[self.key(c, options, ids)] = d

    def get_all(
        self, cs: list[Constituent], options: EnsembleOptions, ids: list[str]
    ) -> list[SharedDecode] | None:
        found = [self.decodes.get(self.key(c, options, ids)) for c in cs]
        return None if any(d is None for d in found) else found  # type: ignore[return-value]
