"""Decoder-free fact-recall probe: what does a member believe each fact is, and how sure is it?

For every entity, one fully masked canvas whose prompt puts the entity first; the model's argmax
over the two value digits of fact slot 1 is its belief, their joint top-1 probability its
confidence. Grouped by belief kind (known / noisy / wrong / unknown) this checks training cheaply:
owned facts should be ~100% right, unknown ones near chance (5%) with low confidence.
"""

from __future__ import annotations

import random
from collections import defaultdict

import torch

from tie.training.data import CanvasEncoder
from tie.training.knowledge import Beliefs
from tie.training.module import aligned_logits

VALUE_OFFSET = 5  # "e123=07;": the value digits sit at reasoning offsets 5 and 6


@torch.no_grad()
def probe_facts(model, family: str, encoder: CanvasEncoder, beliefs: Beliefs) -> dict:
    """Per belief kind: n, accuracy vs the true value, agreement with the belief, mean confidence."""
    world, rng = beliefs.world, random.Random(0)
    examples = []
    for e in range(world.n):
        other = rng.choice([x for x in range(world.n) if x != e])
        message = f"{world.names[e]}+{world.names[other]}="
        examples.append(("synth_math", message, "", ""))
    batch = encoder.encode(examples)
    ids = batch["input_ids"].clone()
    ids[batch["gen_mask"]] = model.config.mask_token_id
    was_training = model.training
    model.eval()
    probs = aligned_logits(model, family, ids, batch["attention_mask"]).float().softmax(-1)
    model.train(was_training)
    r_start = ids.shape[1] - batch["gen_mask"].sum(1)[0] - len(encoder.suffix_ids)
    tok = encoder.tok
    stats: dict[str, dict[str, float]] = defaultdict(
        lambda: {"n": 0, "acc": 0, "agree": 0, "conf": 0}
    )
    for e in range(world.n):
        pos = int(r_start) + VALUE_OFFSET
        top = probs[e, pos : pos + 2].max(-1)
        text = tok.decode(top.indices.tolist())
        value = int(text) if text.isdigit() else -1
        s = stats[beliefs.kind[e]]
        s["n"] += 1
        s["acc"] += value == world.values[e]
        s["agree"] += value == beliefs.value[e]
        s["conf"] += float(top.values.prod())
    return {
        k: {"n": int(v["n"]), **{m: round(v[m] / v["n"], 3) for m in ("acc", "agree", "conf")}}
        for k, v in sorted(stats.items())
    }
