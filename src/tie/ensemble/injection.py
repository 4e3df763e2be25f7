"""Injection study (TIE_SPEC section 2): does B recover when started from A's partial trajectory?

Model A decodes to completion while every step's canvas is kept; then, for each fraction r,
model B starts from A's canvas after round(r * A's steps) steps (ids copied when the tokenizers
match, the text bridge otherwise) and finishes alone. A problem "flips" when B alone is wrong and
B started from A is right.
"""

from __future__ import annotations

from typing import Any

import torch

from tie.ensemble.methods import problem_ids
from tie.ensemble.options import Constituent, EnsembleOptions
from tie.ensemble.relay import copyable, translated
from tie.ensemble.trace import NoObserver
from tie.ensemble.trajectory import Trajectory

_QUIET = NoObserver()


def _finish(t: Trajectory) -> None:
    while not bool(t.state.done().all()):
        t.step(0, _QUIET)


def run_injection(
    source: Constituent,
    target: Constituent,
    prompts: list[str],
    task: Any,
    rows: list[dict],
    ratios: tuple[float, ...] = (0.33, 0.5),
    options: EnsembleOptions | None = None,
) -> list[dict[str, Any]]:
    """One record per (problem, ratio): correctness of A, B alone, B from A, and `flipped`."""
    options = options or EnsembleOptions()
    bad = [r for r in ratios if not 0.0 <= r <= 1.0]
    if bad:
        raise ValueError(f"injection ratios must lie in [0, 1], got {bad}")
    if source.name == target.name:
        raise ValueError(f"source and target must differ, both are {source.name!r}")
    ids = problem_ids(prompts, rows)

    a = Trajectory(source, prompts, task, options)
    snapshots = [a.state.x.cpu().clone()]
    while not bool(a.state.done().all()):
        a.step(0, _QUIET)
        snapshots.append(a.state.x.cpu().clone())
    a_steps = a.nfe.clone()
    a_texts = a.texts()

    b = Trajectory(target, prompts, task, options)
    _finish(b)
    b_texts = b.texts()

    records = []
    for ratio in ratios:
        inj = Trajectory(target, prompts, task, options)
        at = [min(int(round(ratio * int(n))), len(snapshots) - 1) for n in a_steps.tolist()]
        x_a = torch.stack([snapshots[k][i] for i, k in enumerate(at)])
        everyone = torch.arange(len(prompts))
        if copyable(a, inj):
            x_b = x_a
        else:  # a's canvases at the injection steps, through the text bridge
            x_b, _ = translated(a, inj, everyone, options.bridge_gaps, x=x_a)
        inj.state.set_canvas_rows(everyone, x_b.to(inj.state.x.device))
        _finish(inj)
        i_texts = inj.texts()
        for i, row in enumerate(rows):
            _, a_ok = task.score(a_texts[i][0], row)
            _, b_ok = task.score(b_texts[i][0], row)
            _, i_ok = task.score(i_texts[i][0], row)
            records.append(
                {
                    "id": ids[i],
                    "source": source.name,
                    "target": target.name,
                    "ratio": ratio,
                    "inject_step": at[i],
                    "source_steps": int(a_steps[i]),
                    "source_correct": bool(a_ok),
                    "target_correct": bool(b_ok),
                    "injected_correct": bool(i_ok),
                    "injected_answer": i_texts[i][0],
                    "flipped": (not b_ok) and bool(i_ok),
                    "nfe": at[i] + int(inj.nfe[i]),
                }
            )
    return records
