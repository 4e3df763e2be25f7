"""The canvas rule: the paper's generation length holds reasoning, suffix and answer (R = G - S - A
per tokenizer), so the paper's decoding (blocks of 16, strict rounding) runs every benchmark; the
testbed's fixed reasoning length grows to the block grid only under strict rounding."""

from __future__ import annotations

import pytest

from tie.decoding import DecodeConfig, DecodeInputError
from tie.decoding.canvas import canvas_regions
from tie.decoding.schedule import plan_blocks
from tie.tasks import get_task, list_tasks
from tie.tasks.base import CanvasBudget

BENCHMARKS = [t for t in list_tasks() if not t.startswith("synth_")]
PAPER = {"mmlu": 128, "mmlu_star": 128, "arc_c": 128, "winogrande": 128, "gsm8k": 256,
         "countdown": 256, "math500": 512, "humaneval": 512, "mbpp": 512}  # fmt: skip


@pytest.mark.parametrize("name", BENCHMARKS)
@pytest.mark.parametrize("suffix_len", [1, 2, 3, 5, 9])
def test_every_benchmark_canvas_lands_on_the_paper_grid(name, suffix_len):
    task = get_task(name)
    config = DecodeConfig()  # the paper's: blocks of 16, strict rounding, one token per step
    reasoning, answer = canvas_regions(task.budget, suffix_len, config)
    gen = reasoning + suffix_len + answer
    assert gen == PAPER[name]
    assert answer == task.budget.answer_len and reasoning >= 1
    plan = plan_blocks(gen, 0, config)  # the decoder's own check passes
    assert plan.num_blocks == gen // 16


def test_reasoning_is_what_the_suffix_and_answer_leave():
    budget = CanvasBudget(answer_len=32, gen_length=256)
    assert budget.regions(2) == (222, 32)
    assert budget.regions(7, 16, strict=True) == (217, 32)  # G fixed whatever the rounding


def test_a_suffix_that_leaves_no_reasoning_room_is_refused():
    with pytest.raises(DecodeInputError, match="no room for reasoning.*suffix takes 20 tokens"):
        canvas_regions(CanvasBudget(answer_len=12, gen_length=32), 20, DecodeConfig())


def test_a_block_the_paper_length_does_not_divide_is_refused():
    config = DecodeConfig(block_length=24)
    reasoning, answer = canvas_regions(get_task("gsm8k").budget, 2, config)
    with pytest.raises(DecodeInputError, match="generation length 256 .* not divisible by"):
        plan_blocks(reasoning + 2 + answer, 0, config)


def test_fixed_reasoning_keeps_its_length_under_ceil_and_grows_to_the_grid_under_strict():
    budget = CanvasBudget(48, 2)  # synth_math: the zoo was trained on R = 48
    assert canvas_regions(budget, 7, DecodeConfig(block_length=8, rounding="ceil")) == (48, 2)
    # 48 + 7 + 2 = 57 -> 64 under blocks of 16: the 7 extra masks go to the reasoning region
    assert canvas_regions(budget, 7, DecodeConfig()) == (55, 2)
    assert canvas_regions(CanvasBudget(57, 7), 0, DecodeConfig()) == (57, 7)  # already 64


def test_a_budget_has_one_form():
    with pytest.raises(ValueError, match="either reasoning_len or gen_length"):
        CanvasBudget(16, 4, 64)
    with pytest.raises(ValueError, match="either reasoning_len or gen_length"):
        CanvasBudget(answer_len=4)
    with pytest.raises(ValueError, match="or reasoning_len, not both"):
        get_task("gsm8k", reasoning_len=64, gen_length=128)
    assert get_task("gsm8k", gen_length=128, answer_len=8).budget == CanvasBudget(
        answer_len=8, gen_length=128
    )
