"""The shipped zoo: every member loads through the real loader, decodes, and retrains from config."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from tie.decoding import DecodeConfig
from tie.ensemble import Constituent, EnsembleOptions, run_method
from tie.models import list_zoo, load_backend
from tie.tasks.synth_math import SynthMathTask

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = ("llada-a", "dream-b", "llada-c")


def test_zoo_is_complete_and_small():
    assert set(MEMBERS) <= set(list_zoo())
    total = sum(f.stat().st_size for f in (ROOT / "zoo").rglob("*") if f.is_file())
    assert total < 40 * 2**20
    for name in MEMBERS:
        d = ROOT / "zoo" / name
        for f in ("config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md"):
            assert (d / f).is_file(), f"zoo/{name}/{f} missing"
        trained = yaml.safe_load((d / "train_config.yaml").read_text())["member"]
        config = yaml.safe_load((ROOT / "conf" / "member" / f"{name}.yaml").read_text())
        for key in ("family", "arch", "tokenizer", "knowledge", "data"):
            assert trained[key] == config[key], (
                f"zoo/{name} was not trained from its config ({key})"
            )


def test_families_and_vocabularies_are_heterogeneous():
    backends = {m: load_backend(f"zoo:{m}") for m in MEMBERS}
    assert {b.info.family for b in backends.values()} == {"llada", "dream"}
    assert backends["dream-b"].info.shift and not backends["llada-a"].info.shift
    vocab = {m: b.tokenizer.get_vocab() for m, b in backends.items()}
    assert vocab["llada-a"] != vocab["dream-b"]
    sizes = {sum(p.numel() for p in b.model.parameters()) for b in backends.values()}
    assert len(sizes) == 3


def test_llada_a_decodes_the_task_layout():
    torch.set_num_threads(1)
    task = SynthMathTask(seed=5, n=6, split="dev")
    rows = task.load().to_list()
    backend = load_backend("zoo:llada-a")
    con = Constituent("llada-a", backend, DecodeConfig(block_length=8, rounding="ceil"))
    outs = run_method(
        "single:llada-a",
        [con],
        [task.build_prompt(r) for r in rows],
        task,
        EnsembleOptions(interval=8),
        rows=rows,
    )
    for row, out in zip(rows, outs):
        first = row["prompt"].split("+")[0]
        assert out.reasoning.startswith(first + "="), out.reasoning  # copies the first entity
        assert task.extract(out.prediction, row) is not None
