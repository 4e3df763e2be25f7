"""Baselines the paper did not run (issue 9): shared-canvas averaging, answer voting, oracle.

* `avg:mean` / `avg:product`: one shared canvas; each step every constituent runs a forward and
  their per-position distributions are combined (arithmetic mean of probabilities, or the
  normalised geometric mean = product of experts) before the usual unmasking policy commits.
  Only for constituents with one tokenizer: M forward passes per step, like TIE.
* `vote`: majority over the constituents' extracted answers, ties by the lowest whole-decode
  change count (then higher mean top-1, then model order).
* `oracle`: a constituent that is correct if any is: the ceiling of every selection method.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import torch

from tie.ensemble.bridge import same_tokenizer
from tie.ensemble.methods import Batch, decode_all, outputs
from tie.ensemble.options import AVG_RULES, Candidate, Constituent
from tie.ensemble.registry import register_method
from tie.ensemble.scoring import TIE_ATOL
from tie.ensemble.trace import observer_for
from tie.models.backend import logits_span


def combine_logits(logits: list[torch.Tensor], rule: str) -> torch.Tensor:
    """Log of the combined distribution from per-model logits [B, L, V] (softmax-ready)."""
    logp = torch.stack([torch.log_softmax(lg.float(), dim=-1) for lg in logits])
    if rule == "mean":
        return torch.logsumexp(logp, dim=0) - torch.log(torch.tensor(float(len(logits))))
    if rule == "product":
        return torch.log_softmax(logp.mean(dim=0), dim=-1)
    raise ValueError(f"unknown avg rule {rule!r}; expected one of {AVG_RULES}")


class CombinedBackend:
    """An MDLMBackend whose logits are the combination of several same-tokenizer backends."""

    def __init__(self, backends: list[Any], rule: str) -> None:
        first = backends[0]
        self.backends, self.rule = backends, rule
        self.tokenizer, self.mask_id = first.tokenizer, first.mask_id
        self.eos_ids, self.pad_id = first.eos_ids, first.pad_id
        self.max_length = min(b.max_length for b in backends)
        self.device, self.dtype, self.info = first.device, first.dtype, first.info

    def chat_prompt(self, user_message: str, system: str | None = None) -> list[int]:
        return self.backends[0].chat_prompt(user_message, system)

    def logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        span: tuple[int, int] | None = None,
    ):
        outs = [
            logits_span(
                b,
                input_ids.to(b.device),
                None if attention_mask is None else attention_mask.to(b.device),
                span,
            )
            for b in self.backends
        ]
        return combine_logits([o.to(self.device) for o in outs], self.rule)


def describe_tokenizer(c: Constituent) -> str:
    """`name: tokenizer <source> (vocab=V, mask=id)` for error messages."""
    tok = c.backend.tokenizer
    source = getattr(tok, "name_or_path", None) or type(tok).__name__
    return f"{c.name}: tokenizer {source} (vocab={len(tok)}, mask={c.backend.mask_id})"


def check_shared_vocab(constituents: list[Constituent]) -> None:
    first = constituents[0]
    others = [c for c in constituents[1:] if not same_tokenizer(first.backend, c.backend)]
    if others:
        described = ", ".join(describe_tokenizer(c) for c in [first, *others])
        raise ValueError(
            "avg:<rule> needs constituents that share one tokenizer (vocabulary and special ids); "
            f"these differ: {described}"
        )


def check_methods(methods: list[str], constituents: list[Constituent]) -> None:
    """Checks of the baselines that need loaded backends, run before any decoding (tie-run calls
    it once the constituents are loaded): `avg:<rule>` needs one shared tokenizer."""
    for m in methods:
        if m.startswith("avg:"):
            if m[4:] not in AVG_RULES:
                raise ValueError(f"unknown avg rule in {m!r}; expected avg:mean or avg:product")
            check_shared_vocab(constituents)


@register_method("avg")
def avg(method: str, rule: str, constituents: list[Constituent], b: Batch):
    """One shared canvas decoded with the constituents' combined distribution (`avg:<rule>`)."""
    if rule not in AVG_RULES:
        raise ValueError(f"unknown avg rule {rule!r}; expected avg:mean or avg:product")
    check_shared_vocab(constituents)
    t0 = time.perf_counter()
    name = "+".join(c.name for c in constituents)
    shared = Constituent(
        name,
        CombinedBackend([c.backend for c in constituents], rule),
        constituents[0].decode_config,
    )
    observer = observer_for(b.tracer, method, b.ids, b.options)
    trajs, record = decode_all([shared], b, observer)
    outs = outputs(method, trajs, record, b, time.perf_counter() - t0, observer)
    for o in outs:
        o.nfe *= len(constituents)  # one forward per constituent per step
    return outs


def vote_choice(cands: list[Candidate], default: int) -> int:
    """Majority extracted answer; ties by lowest change count, higher top-1, model order."""
    answers = Counter(c.extracted for c in cands if c.extracted is not None)
    if not answers:
        return default
    top = max(answers.values())
    winners = {a for a, n in answers.items() if n == top}
    pool = [i for i, c in enumerate(cands) if c.extracted in winners]
    best = min(cands[i].change_count for i in pool)
    pool = [i for i in pool if cands[i].change_count <= best + TIE_ATOL]
    return max(pool, key=lambda i: (cands[i].mean_top1, -i))


def oracle_choice(cands: list[Candidate], default: int) -> int:
    """The first correct candidate (model order), else the default selection."""
    return next((i for i, c in enumerate(cands) if c.correct), default)


def _select(method: str, constituents: list[Constituent], b: Batch, pick) -> list:
    if b.rows is None:
        raise ValueError(f"method {method!r} needs the task rows (run_method(..., rows=rows))")
    t0 = time.perf_counter()
    observer = observer_for(b.tracer, method, b.ids, b.options)
    trajs, record = decode_all(constituents, b, observer)

    def choose(all_cands, default):
        return torch.tensor([pick(c, int(d)) for c, d in zip(all_cands, default)])

    wall = time.perf_counter() - t0
    return outputs(method, trajs, record, b, wall, observer, choose=choose)


@register_method("vote")
def vote(method: str, _: None, constituents: list[Constituent], b: Batch):
    """Majority over the constituents' extracted answers."""
    return _select(method, constituents, b, vote_choice)


@register_method("oracle")
def oracle(method: str, _: None, constituents: list[Constituent], b: Batch):
    """A correct constituent when any is (the ceiling of every selection)."""
    return _select(method, constituents, b, oracle_choice)
