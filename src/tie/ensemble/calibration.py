"""Per-model temperature calibration of the logit metrics (issue 3; beyond the paper).

`fit_temperature` fits one temperature T per model by temperature scaling: minimise the mean
negative log-likelihood of the gold answer tokens under `softmax(logits / T)` at the answer-region
positions, on held-out problems, with the canvas the decoder uses
(`prompt | reasoning (R) | suffix | answer (A)`):

* the reasoning region holds the task's gold reasoning followed by EOS padding, exactly as the
  zoo trainer lays out a completion (`tie.training.data.CanvasEncoder`: `region(text) + [eos]*`);
  tasks whose rows carry no `reasoning` (or one that does not fit R) get the reasoning region
  masked too: T is then fitted on "answer with an undecoded reasoning", the state of the first
  decoding steps, not of the last ones;
* the answer region is fully masked; the targets are the tokens of the gold answer text
  (`row["answer"]`, else `row["gold"]`), cut to A. With `decode_config.exclude_eos_from_answer`
  False the EOS padding after the answer is a target too (those positions are then part of A(t));
* the mask token is never a prediction (its logit is -inf, as in the decoder and in
  `tie.ensemble.signals`).

One forward pass per batch of rows; the answer-position logits are kept and T is found by
`scipy.optimize.minimize_scalar` over log T, bounded to `bounds` (default [0.05, 20]).
The result goes into `EnsembleOptions.calibration = {model: T}` (`fit_calibration` fits every
constituent). In tie-run: `ensemble.options.calibration=fit` fits on the task's dev split (or
`ensemble.calibration_data`) before decoding (see `tie.runs.plan`).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from tie.models.backend import logits_span

DEFAULT_BOUNDS = (0.05, 20.0)


def gold_texts(row: dict[str, Any]) -> tuple[str | None, str]:
    """(gold reasoning or None, gold answer text) of one task row."""
    reasoning = row.get("reasoning")
    answer = row.get("answer")
    if answer is None:
        answer = row.get("gold")
    if answer is None:
        raise ValueError(f"row {row.get('id')!r} has neither 'answer' nor 'gold'")
    return (str(reasoning) if reasoning else None), str(answer)


def _eos_fill(backend: Any) -> int:
    eos = getattr(backend.tokenizer, "eos_token_id", None)
    if eos is not None:
        return int(eos)  # what the zoo trainer pads regions with
    from tie.ensemble.bridge import fill_eos_id

    return fill_eos_id(backend)


def _encode(backend: Any, text: str) -> list[int]:
    return list(backend.tokenizer(text, add_special_tokens=False)["input_ids"])


def answer_logits_and_targets(
    backend: Any, task: Any, rows: list[dict[str, Any]], decode_config: Any = None,
    batch_size: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Logits [N, V] (float32, CPU, mask id at -inf) of the N scored answer positions and their
    gold token ids [N]; one forward pass per batch of `batch_size` rows."""
    from tie.decoding import DecodeConfig, build_canvas
    from tie.decoding.canvas import task_regions

    if not rows:
        raise ValueError("calibration needs at least one held-out row")
    exclude_eos = bool(getattr(decode_config, "exclude_eos_from_answer", True))
    # the same regions the decode uses (the paper's generation length, per tokenizer)
    r_len, a_len = task_regions(backend, task, decode_config or DecodeConfig(rounding="ceil"))
    if a_len < 1:
        raise ValueError(f"task {task.name!r} has no answer region to calibrate on")
    eos = _eos_fill(backend)
    all_logits, all_targets = [], []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        prompts = [backend.chat_prompt(task.build_prompt(r)) for r in batch]
        state = build_canvas(backend, prompts, r_len, task.answer_suffix, a_len)
        x = state.x.clone()
        p0 = int(state.layout.prompt_len)
        a0 = p0 + r_len + len(state.layout.suffix_ids)
        keep = torch.zeros(len(batch), a_len, dtype=torch.bool)
        targets = torch.zeros(len(batch), a_len, dtype=torch.long)
        for i, row in enumerate(batch):
            reasoning, answer = gold_texts(row)
            if reasoning is not None:
                ids = _encode(backend, reasoning)
                if len(ids) <= r_len:  # else: leave the reasoning masked (see module doc)
                    x[i, p0 : p0 + r_len] = torch.tensor(ids + [eos] * (r_len - len(ids)))
            ans = _encode(backend, answer)[:a_len]
            targets[i, : len(ans)] = torch.tensor(ans, dtype=torch.long)
            keep[i, : len(ans)] = True
            if not exclude_eos:
                targets[i, len(ans) :] = eos
                keep[i, len(ans) :] = True
        with torch.no_grad():
            out = logits_span(backend, x, state.attention_mask, (a0, a0 + a_len))
        lg = out.float().cpu().clone()  # may be an inference tensor
        lg[..., backend.mask_id] = float("-inf")
        all_logits.append(lg[keep])
        all_targets.append(targets[keep])
    return torch.cat(all_logits), torch.cat(all_targets)


def nll_at(logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> float:
    """Mean NLL of `targets` under softmax(logits / T)."""
    logp = torch.log_softmax(logits.double() / temperature, dim=-1)
    return float(-logp.gather(-1, targets[:, None]).mean())


def fit_temperature(
    backend: Any,
    task: Any,
    rows: list[dict[str, Any]],
    decode_config: Any = None,
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
    batch_size: int = 16,
) -> float:
    """The temperature T in `bounds` minimising the gold answer tokens' NLL (see module doc)."""
    from scipy.optimize import minimize_scalar

    lo, hi = float(bounds[0]), float(bounds[1])
    if not 0 < lo < hi:
        raise ValueError(f"calibration bounds must satisfy 0 < low < high, got {bounds}")
    logits, targets = answer_logits_and_targets(backend, task, rows, decode_config, batch_size)
    if targets.numel() == 0:
        raise ValueError("no gold answer tokens to calibrate on (empty answers?)")
    res = minimize_scalar(
        lambda log_t: nll_at(logits, targets, math.exp(log_t)),
        bounds=(math.log(lo), math.log(hi)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(min(max(math.exp(res.x), lo), hi))


def fit_calibration(
    constituents: list[Any],
    task: Any,
    rows: list[dict[str, Any]],
    bounds: tuple[float, float] = DEFAULT_BOUNDS,
) -> dict[str, float]:
    """{constituent name: fitted T} for `EnsembleOptions.calibration`."""
    return {
        c.name: fit_temperature(c.backend, task, rows, c.decode_config, bounds=bounds)
        for c in constituents
    }
