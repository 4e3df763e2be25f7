"""Benchmark settings, presets and the command line that fills them.

Suites: `throughput`, `reference`, `methods`, `tracing` (the default set) and `cache`
(`decoding.cache=none|prefix|dual` at prompt 512 / generation 256, `tie.bench.cache`; in the
`cpu-vocab` preset).
Presets: `cpu` (the default: the zoo, or zoo-shaped random models before it is built; modest sizes
that finish in a few minutes on a shared 2-core machine), `gpu` (random-initialised LLaDA-8B and
Dream-7B shapes in bf16 on CUDA, paper-like canvas), `cpu-vocab` (our decoder vs the reference
loop on CPU with the published vocabularies and a small body), `smoke` (the smallest run, for
tests).
Explicit options override the preset. Everything is validated before any model is built.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields, replace

import torch

from tie.bench.models import MODEL_SOURCES, REAL_SIZES, BenchInputError

SUITES = ("throughput", "reference", "methods", "tracing", "cache")
DEFAULT_SUITES = ("throughput", "reference", "methods", "tracing")  # `cache`: when asked for
CACHE_MODES = ("none", "prefix", "dual")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class BenchConfig:
    out_dir: str = "experiments/performance"
    source: str = "auto"  # auto | zoo | tiny | real
    models: list[str] | None = None  # None: the source's default pair
    real_size: str = "full"  # real shapes: full | vocab (published vocabulary, small body) | tiny
    device: str = "cpu"
    devices: list[str] | None = None  # per-model placement, compared with all on `device`
    dtype: str | None = None  # None: float32 on CPU, bfloat16 on CUDA
    task: str = "synth_math"
    reasoning_len: int | None = None  # None: the task's budget
    answer_len: int | None = None
    block_length: int = 8
    batch_sizes: list[int] = field(default_factory=lambda: [1, 4, 16])
    n_problems: int = 8  # batch of the methods suite
    methods: list[str] | None = None  # None: single:<each>, post, tie:tcc/top1/entropy/margin
    # methods suite: the logit scorings also with batched_scoring=false (issue 23's comparison)
    unbatched_scoring: bool = True
    interval: int = 16
    gen_length: int = 64  # reference comparison, plain layout
    reference_batch_sizes: list[int] = field(default_factory=lambda: [1, 8])
    repeats: int = 3
    warmup: int = 1
    threads: int | None = None
    suites: list[str] = field(default_factory=lambda: list(DEFAULT_SUITES))
    # cache suite: decoding.cache=none|prefix|dual at the real benchmarks' lengths
    prompt_len: int = 512
    cache_gen_length: int = 256
    cache_block_length: int = 32
    cache_batch_sizes: list[int] = field(default_factory=lambda: [1])
    cache_modes: list[str] = field(default_factory=lambda: list(CACHE_MODES))
    seed: int = 0
    tag: str = "cpu"  # names the output files: bench_<tag>.json / .md

    def torch_dtype(self) -> torch.dtype:
        if self.dtype is None:
            return torch.float32 if torch.device(self.device).type == "cpu" else torch.bfloat16
        return DTYPES[self.dtype]

    def validate(self) -> None:
        """Raise BenchInputError naming the first bad setting."""
        if self.source not in MODEL_SOURCES:
            raise BenchInputError(f"source must be one of {MODEL_SOURCES}, got {self.source!r}")
        if self.real_size not in REAL_SIZES:
            raise BenchInputError(f"real_size must be one of {REAL_SIZES}, got {self.real_size!r}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise BenchInputError(f"dtype must be one of {list(DTYPES)}, got {self.dtype!r}")
        for dev in [self.device, *(self.devices or [])]:
            try:
                d = torch.device(dev)
            except RuntimeError as err:
                raise BenchInputError(f"bad device {dev!r}: {err}") from err
            if d.type == "cuda" and not torch.cuda.is_available():
                raise BenchInputError(f"device {dev!r} asked for but CUDA is not available")
            if d.type == "cuda" and (d.index or 0) >= torch.cuda.device_count():
                raise BenchInputError(
                    f"device {dev!r}: only {torch.cuda.device_count()} CUDA device(s)"
                )
        bad = [s for s in self.suites if s not in SUITES]
        if bad or not self.suites:
            raise BenchInputError(f"unknown suites {bad or self.suites}; choose from {SUITES}")
        positive = {
            "block_length": [self.block_length],
            "batch_sizes": self.batch_sizes,
            "n_problems": [self.n_problems],
            "interval": [self.interval],
            "gen_length": [self.gen_length],
            "reference_batch_sizes": self.reference_batch_sizes,
            "repeats": [self.repeats],
            "prompt_len": [self.prompt_len],
            "cache_gen_length": [self.cache_gen_length],
            "cache_block_length": [self.cache_block_length],
            "cache_batch_sizes": self.cache_batch_sizes,
        }
        for name, values in positive.items():
            if not values or any(not isinstance(v, int) or v < 1 for v in values):
                raise BenchInputError(f"{name} must be integers >= 1, got {values!r}")
        bad_modes = [m for m in self.cache_modes if m not in CACHE_MODES]
        if bad_modes or not self.cache_modes:
            raise BenchInputError(
                f"cache_modes must be a non-empty subset of {CACHE_MODES}, got {self.cache_modes}"
            )
        if self.warmup < 0:
            raise BenchInputError(f"warmup must be >= 0, got {self.warmup}")
        if self.threads is not None and self.threads < 1:
            raise BenchInputError(f"threads must be >= 1, got {self.threads}")
        if self.gen_length % self.block_length:
            raise BenchInputError(
                f"gen_length {self.gen_length} must be a multiple of block_length "
                f"{self.block_length} (the reference loop's rule)"
            )
        for name in ("reasoning_len", "answer_len"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise BenchInputError(f"{name} must be >= 0, got {v}")
        if not self.tag or not self.tag.replace("-", "").replace("_", "").isalnum():
            raise BenchInputError(
                f"tag must be a short name of letters/digits/-/_, got {self.tag!r}"
            )


PRESETS: dict[str, dict] = {
    "cpu": {},
    "gpu": {
        "source": "real",
        "device": "cuda",
        "dtype": "bfloat16",
        "reasoning_len": 240,
        "answer_len": 16,
        "block_length": 32,
        "batch_sizes": [1, 8, 32],
        "n_problems": 8,
        "gen_length": 256,
        "reference_batch_sizes": [1, 8],
        "repeats": 2,
        "tag": "gpu",
    },
    "cpu-vocab": {  # decoder vs reference where the vocabulary is real (126k / 152k ids)
        "source": "real",
        "real_size": "vocab",
        "device": "cpu",
        "suites": ["reference", "cache"],
        "reference_batch_sizes": [1, 8],
        "tag": "cpu_vocab",
    },
    "smoke": {
        "source": "tiny",
        "batch_sizes": [1, 2],
        "n_problems": 2,
        "gen_length": 16,
        "reference_batch_sizes": [2],
        "repeats": 1,
        "warmup": 0,
        "methods": ["single:llada-a", "single:dream-b", "tie:tcc", "tie:top1"],
        "tag": "smoke",
    },
}


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def _strs(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tie.bench",
        description="Decoding and ensembling cost: throughput, reference loop, methods, tracing.",
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    p.add_argument("--out-dir", dest="out_dir")
    p.add_argument("--source", choices=MODEL_SOURCES)
    p.add_argument("--models", type=_strs, help="comma-separated model names")
    p.add_argument("--real-size", dest="real_size", choices=REAL_SIZES)
    p.add_argument("--device")
    p.add_argument("--devices", type=_strs, help="one device per model, e.g. cuda:0,cuda:1")
    p.add_argument("--dtype", choices=sorted(DTYPES))
    p.add_argument("--task")
    p.add_argument("--reasoning-len", dest="reasoning_len", type=int)
    p.add_argument("--answer-len", dest="answer_len", type=int)
    p.add_argument("--block-length", dest="block_length", type=int)
    p.add_argument("--batch-sizes", dest="batch_sizes", type=_ints)
    p.add_argument("--n-problems", dest="n_problems", type=int)
    p.add_argument("--methods", type=_strs)
    p.add_argument(
        "--no-unbatched-scoring",
        dest="unbatched_scoring",
        action="store_const",
        const=False,
        help="skip the logit scorings' batched_scoring=false rows",
    )
    p.add_argument("--interval", type=int)
    p.add_argument("--gen-length", dest="gen_length", type=int)
    p.add_argument("--reference-batch-sizes", dest="reference_batch_sizes", type=_ints)
    p.add_argument("--repeats", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--suites", type=_strs, help=f"subset of {','.join(SUITES)}")
    p.add_argument("--seed", type=int)
    p.add_argument("--prompt-len", dest="prompt_len", type=int, help="cache suite")
    p.add_argument("--cache-gen-length", dest="cache_gen_length", type=int)
    p.add_argument("--cache-block-length", dest="cache_block_length", type=int)
    p.add_argument("--cache-batch-sizes", dest="cache_batch_sizes", type=_ints)
    p.add_argument("--cache-modes", dest="cache_modes", type=_strs, help="none,prefix,dual")
    p.add_argument("--tag")
    return p


def from_args(argv: list[str] | None = None) -> BenchConfig:
    args = parser().parse_args(argv)
    cfg = replace(BenchConfig(), **PRESETS[args.preset])
    given = {f.name: getattr(args, f.name) for f in fields(BenchConfig) if hasattr(args, f.name)}
    cfg = replace(cfg, **{k: v for k, v in given.items() if v is not None})
    cfg.validate()
    return cfg
