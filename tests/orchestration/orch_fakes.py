"""Small stand-ins for the model/task/decoder/ensemble stack, so orchestration tests stay fast.

Selected with `api=orch_fakes:fake_api` (this folder must be on PYTHONPATH for subprocesses).
Everything is deterministic per (method, problem), like greedy decoding.
Env knobs: ORCH_FAKE_SLEEP (seconds per problem per method), ORCH_FAKE_CRASH_AFTER (raise after
that many run_method calls in this process).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch

from tie.decoding import DecodeConfig
from tie.ensemble.options import EnsembleOptions
from tie.runs.api import Api, _dataclass_factory

CALLS = {"run_method": 0}


class CharTokenizer:
    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join(chr(i) for i in ids if not (skip_special_tokens and i == 0))


@dataclass
class FakeBackend:
    name: str
    device: torch.device = torch.device("cpu")
    dtype: torch.dtype = torch.float32
    tokenizer: Any = field(default_factory=CharTokenizer)

    def chat_prompt(self, user_message: str, system: str | None = None) -> list[int]:
        return self.tokenizer.encode(f"<u>{user_message}</u>")


def load_backend(spec: Any, device: str = "cpu", dtype: torch.dtype | None = None) -> FakeBackend:
    path = spec if isinstance(spec, str) else spec["path"]
    if "notokenizer" in path:
        return FakeBackend(name=path, device=torch.device(device), tokenizer=None)
    return FakeBackend(name=path, device=torch.device(device), dtype=dtype or torch.float32)


def generate(backend, input_ids, attention_mask=None, gen_length=8, block_length=8, steps=8, **kw):
    text = ("echo:" + backend.tokenizer.decode(input_ids[0].tolist()))[:gen_length]
    new = torch.tensor([backend.tokenizer.encode(text)], dtype=torch.long)
    return torch.cat([input_ids, new], dim=1)


@dataclass(frozen=True)
class Budget:
    reasoning_len: int = 24
    answer_len: int = 4


class FakeTask:
    answer_suffix = "Answer:"
    budget = Budget()

    def __init__(self, name: str, n: int = 12, missing: bool = False, data_files=None, **_: Any):
        # a data file that is not there (a real task option, so the schema lets it through)
        missing = missing or (data_files is not None and not Path(str(data_files)).exists())
        self.name, self.n, self.missing = name, n, missing

    def load(self) -> datasets.Dataset:
        if self.missing:
            raise FileNotFoundError(f"{self.name}: data file /nowhere/{self.name}.jsonl is missing")
        rows = [
            {"id": f"p{i:03d}", "gold": str(i % 5), "category": "even" if i % 2 == 0 else "odd"}
            for i in range(self.n)
        ]
        return datasets.Dataset.from_list(rows)

    def build_prompt(self, row: dict) -> str:
        return f"question {row['id']}"

    def extract(self, answer_text: str, row: dict) -> str | None:
        return answer_text.strip() or None

    def grade(self, extracted: str | None, row: dict) -> bool:
        return extracted == row["gold"]

    def score(self, answer_text: str, row: dict):
        e = self.extract(answer_text, row)
        return e, self.grade(e, row)


def get_task(name: str, **options) -> FakeTask:
    return FakeTask(name, **options)


@dataclass
class Constituent:
    name: str
    backend: Any
    decode_config: Any


@dataclass
class Out:
    prediction: str
    reasoning: str
    selected_model: str
    nfe: int
    wall_s: float
    candidates: list = field(default_factory=list)
    leaders: list = field(default_factory=list)


def _digit(*parts: Any) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest(), 16)


def run_method(
    method, constituents, prompts, task, options, tracer=None, rows=None, share=None,
    members="sequential",
) -> list[Out]:  # fmt: skip
    CALLS["run_method"] += 1
    crash = os.environ.get("ORCH_FAKE_CRASH_AFTER")
    if crash is not None and CALLS["run_method"] > int(crash):
        raise RuntimeError("simulated crash")
    outs = []
    for p in prompts:
        time.sleep(float(os.environ.get("ORCH_FAKE_SLEEP", "0")))
        h = _digit(method, options.interval, p)
        i = int(p.split("p")[-1])
        # ensembles are right more often than single models, like in the paper
        good = h % 3 != 0 if not method.startswith("single") else h % 2 == 0
        pred = str(i % 5) if good else "x"
        who = (
            method.split(":")[1]
            if method.startswith("single:")
            else constituents[h % len(constituents)].name
        )
        outs.append(Out(pred, "r", who, nfe=10 + h % 7, wall_s=0.01, leaders=[who]))
        if tracer is not None:
            tracer.add_round({"method": method, "prompt": p, "round": 0})
    return outs


class FakeTracer:
    """Buffers rows, commits them atomically on close (like tie.tracing.Tracer)."""

    def __init__(self, traces_dir, rank: int = 0, steps: bool = True):
        self.path = traces_dir / f"rounds.rank{rank}.txt"
        self.rows: list[str] = []

    def add_round(self, row: dict) -> None:
        self.rows.append(f"{row['method']}\t{row['prompt']}\n")

    def close(self) -> None:
        from tie.runs.store import atomic_write_text

        atomic_write_text(self.path, "".join(self.rows))


def merge_traces(traces_dir) -> None:
    parts = sorted(traces_dir.glob("rounds.rank*.txt"), key=lambda p: int(p.stem.split("rank")[1]))
    main = traces_dir / "rounds.txt"
    text = (main.read_text() if main.exists() else "") + "".join(p.read_text() for p in parts)
    main.write_text(text)
    for p in parts:
        p.unlink()


def fake_api() -> Api:
    return Api(
        load_backend=load_backend,
        get_task=get_task,
        run_method=run_method,
        make_options=_dataclass_factory(EnsembleOptions),
        make_decode_config=_dataclass_factory(DecodeConfig),
        make_constituent=Constituent,
        generate=generate,
        make_tracer=FakeTracer,
        merge_traces=merge_traces,
    )


def fake_api_checked() -> Api:
    """The fake stack with the real plan-time model check (zoo names, checkpoint files)."""
    from tie.runs.api import check_model_files

    api = fake_api()
    api.check_model = check_model_files
    return api


def tiny_real_api() -> Api:
    """The real task registry, decoder, TIE engine and tracer over tiny random-initialised models
    (zoo names map to LLaDA / Dream / LLaDA with two different tokenizers)."""
    from fakes import tiny_backend

    from tie.decoding import generate as real_generate
    from tie.ensemble import Constituent as RealConstituent
    from tie.ensemble import run_method as real_run_method
    from tie.ensemble.injection import run_injection
    from tie.tasks import get_task as real_get_task
    from tie.tracing import make_tracer, merge_ranks

    def load(spec: Any, device: str = "cpu", dtype: Any = None) -> Any:
        name = spec if isinstance(spec, str) else spec["path"]
        seed = {"zoo:llada-a": 0, "zoo:dream-b": 1, "zoo:llada-c": 2}.get(name, 3)
        if "dream" in name:
            return tiny_backend("dream", "b", seed, name)
        return tiny_backend("llada", "a", seed, name)

    return Api(
        load_backend=load,
        get_task=real_get_task,
        run_method=real_run_method,
        make_options=_dataclass_factory(EnsembleOptions),
        make_decode_config=_dataclass_factory(DecodeConfig),
        make_constituent=RealConstituent,
        generate=real_generate,
        make_tracer=make_tracer,
        merge_traces=merge_ranks,
        run_injection=run_injection,
    )
