"""Check and time the `LeanDecoder` proposal against `tie.decoding.Decoder` (CPU time per step).

Run: `.venv/bin/python experiments/performance/lean_decoder_check.py` (about a minute on CPU).
Asserts equal tokens and NFE for every policy on zoo-shaped random models, then prints ms/step
of the decoder, the proposal and the forward passes alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from lean_decoder import LeanDecoder  # noqa: E402

from tie.bench.models import build_models  # noqa: E402
from tie.decoding import DecodeConfig, Decoder, build_canvas  # noqa: E402
from tie.tasks import get_task  # noqa: E402

POLICIES = [
    ("low_confidence", None),
    ("low_confidence", 20),
    ("margin", None),
    ("dream", None),
    ("dream", 20),
    ("threshold", None),
    ("topk", None),
]


def main() -> None:
    torch.set_num_threads(1)
    task = get_task("synth_math")
    prompts = [task.build_prompt(r) for r in list(task.load())[:8]]
    r, a = task.budget.reasoning_len, task.budget.answer_len
    models = build_models("tiny", ["llada-a", "dream-b"], [torch.device("cpu")], torch.float32)
    for m in models:
        be = m.backend
        ids = [be.chat_prompt(p) for p in prompts]
        for policy, steps in POLICIES:
            cfg = DecodeConfig(block_length=8, rounding="ceil", policy=policy, steps=steps)
            s1 = build_canvas(be, ids[:5], r, task.answer_suffix, a)
            s2 = build_canvas(be, ids[:5], r, task.answer_suffix, a)
            Decoder(be, cfg).run(s1)
            LeanDecoder(be, cfg).run(s2, n_steps=500)
            assert torch.equal(s1.x, s2.x) and torch.equal(s1.nfe, s2.nfe), (m.name, policy)
    print("LeanDecoder == Decoder (tokens and NFE) for", [p for p, _ in POLICIES])
    cfg = DecodeConfig(block_length=8, rounding="ceil")
    for m in models:
        be = m.backend
        ids = [be.chat_prompt(p) for p in prompts]
        for b in (1, 8):

            def run(cls, b=b, be=be, ids=ids):
                cls(be, cfg).run(build_canvas(be, ids[:b], r, task.answer_suffix, a))

            def forwards(b=b, be=be, ids=ids):
                s = build_canvas(be, ids[:b], r, task.answer_suffix, a)
                for _ in range(r + a):
                    be.logits(s.x, s.attention_mask)

            jobs = {
                "decoder": lambda run=run: run(Decoder),
                "lean": lambda run=run: run(LeanDecoder),
                "forwards_only": forwards,
            }
            times: dict[str, list[float]] = {k: [] for k in jobs}
            for _ in range(7):
                for k, f in jobs.items():
                    c = time.process_time()
                    f()
                    times[k].append(time.process_time() - c)
            per_step = {k: round(sorted(v)[3] * 1e3 / (r + a), 3) for k, v in times.items()}
            print(f"{m.name} batch {b}: ms/step (median CPU time) {per_step}")


if __name__ == "__main__":
    main()
