"""The canvas each constituent will decode, checked from the config and the tokenizers alone.

A 7-8B checkpoint takes minutes to load; a generation length the block does not divide, a suffix
that leaves no room for reasoning or a prompt too long for the context must fail before that.
`check_canvases` reads each constituent's tokenizer and config (`Api.inspect_model`, no weights),
lays out the task's canvas exactly as the engine will (`tie.decoding.canvas.canvas_regions`) and
runs the decoder's own block check (`plan_blocks`) on it.
"""

from __future__ import annotations

from typing import Any

from tie.decoding.canvas import canvas_regions
from tie.decoding.config import DecodeInputError
from tie.decoding.schedule import plan_blocks
from tie.runs.api import Api
from tie.runs.plan import RunPlan


def check_canvases(
    plan: RunPlan, api: Api, task: Any, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One layout per constituent ({model, reasoning, suffix, answer, gen_length, max_prompt});
    raises DecodeInputError naming the task and model. [] when the api cannot inspect models."""
    if api.inspect_model is None:
        return []
    config = api.make_decode_config(dict(plan.decode))
    prompts = [task.build_prompt(r) for r in rows]
    layouts = []
    for spec in plan.models:
        info = api.inspect_model(spec.spec)
        where = f"task {plan.task_name} on {spec.name}"
        suffix = info.tokenizer.encode(task.answer_suffix, add_special_tokens=False)
        if not suffix:
            raise DecodeInputError(f"{where}: answer suffix {task.answer_suffix!r} has no tokens")
        try:
            reasoning, answer = canvas_regions(task.budget, len(suffix), config)
            gen = reasoning + len(suffix) + answer
            plan_blocks(gen, 0, config)
        except DecodeInputError as err:
            raise DecodeInputError(f"{where}: {err}") from None
        longest = max((len(info.chat_prompt(p)) for p in prompts), default=0)
        if longest + gen > info.max_length:
            raise DecodeInputError(
                f"{where}: the longest prompt ({longest} tokens) plus the generation length {gen} "
                f"exceeds the context of {spec.name} (max_length {info.max_length})"
            )
        layouts.append(
            {
                "model": spec.name,
                "reasoning": reasoning,
                "suffix": len(suffix),
                "answer": answer,
                "gen_length": gen,
                "max_prompt": longest,
            }
        )
    return layouts
