"""Temperature calibration of the logit metrics (issue 3): fit T by the gold answer tokens' NLL."""

from __future__ import annotations

import math

import pytest
import torch
from fakes import ScriptedBackend, TinyTask, make_tokenizer

from tie.ensemble.calibration import (
    DEFAULT_BOUNDS,
    answer_logits_and_targets,
    fit_calibration,
    fit_temperature,
)

torch.set_num_threads(1)

DIGITS = "1234"
PROBS = [0.4, 0.3, 0.2, 0.1]  # the "true" answer-token distribution


def scaled_backend(scale: float) -> ScriptedBackend:
    """Logits = scale * log p_true at every position (p_true over 4 digits, ~0 elsewhere)."""
    tok = make_tokenizer("a")
    ids = [tok.convert_tokens_to_ids(d) for d in DIGITS]
    logp = torch.full((len(tok),), -40.0)
    logp[ids] = torch.tensor(PROBS).log()
    logp = torch.log_softmax(logp, dim=-1)

    def fn(x, attention_mask=None):
        return (scale * logp).expand(*x.shape, len(tok)).clone()

    return ScriptedBackend(fn, tokenizer=tok, name=f"scaled-{scale}")


def rows_with_true_frequencies(n_rows: int = 10) -> list[dict]:
    """Answers whose digit frequencies are exactly p_true (40/30/20/10 of 100 tokens)."""
    pool = "".join(d * round(p * n_rows * 10) for d, p in zip(DIGITS, PROBS))
    return [
        {"id": str(i), "prompt": f"q{i}", "reasoning": "x=1;", "answer": pool[10 * i : 10 * i + 10]}
        for i in range(n_rows)
    ]


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0])
def test_fitted_temperature_recovers_the_logit_scale(scale):
    backend = scaled_backend(scale)
    rows = rows_with_true_frequencies()
    t = fit_temperature(backend, TinyTask(8, 10), rows, batch_size=4)
    assert t == pytest.approx(scale, rel=0.05)
    assert backend.calls == 3  # one forward per batch of 4 rows


def test_targets_are_the_gold_answer_tokens_with_reasoning_on_the_canvas():
    backend = scaled_backend(1.0)
    rows = rows_with_true_frequencies(2)
    seen = []
    fn = backend._fn
    backend._fn = lambda x, m=None: (seen.append(x.clone()), fn(x, m))[1]
    logits, targets = answer_logits_and_targets(backend, TinyTask(8, 10), rows)
    tok = backend.tokenizer
    assert tok.decode(targets[:10].tolist()) == rows[0]["answer"]
    assert logits.shape == (20, len(tok)) and torch.isinf(logits[:, backend.mask_id]).all()
    x = seen[0][0]
    text = tok.decode(x.tolist())
    assert "x=1;" in text and (x == backend.mask_id).sum() == 10  # only the answer is masked


def test_fit_calibration_per_constituent_and_bad_bounds():
    from tie.decoding import DecodeConfig
    from tie.ensemble import Constituent

    cfg = DecodeConfig(block_length=4, rounding="ceil")
    cons = [Constituent("a", scaled_backend(2.0), cfg), Constituent("b", scaled_backend(0.5), cfg)]
    temps = fit_calibration(cons, TinyTask(8, 10), rows_with_true_frequencies())
    assert temps["a"] == pytest.approx(2.0, rel=0.05) and temps["b"] == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError, match="bounds"):
        fit_temperature(
            cons[0].backend, TinyTask(8, 10), rows_with_true_frequencies(), bounds=(2, 1)
        )


def test_zoo_member_gives_a_finite_temperature_in_bounds():
    from tie.decoding import DecodeConfig
    from tie.models import load_backend
    from tie.tasks import get_task

    task = get_task("synth_math", split="dev", seed=0, n=8)
    rows = task.load().to_list()
    backend = load_backend("zoo:llada-a")
    t = fit_temperature(backend, task, rows, DecodeConfig(block_length=8, rounding="ceil"))
    assert math.isfinite(t) and DEFAULT_BOUNDS[0] <= t <= DEFAULT_BOUNDS[1]
