"""Schedule tables (LLaDA front-loaded quota, Dream's timestep grid) and block planning."""

import pytest

from tie.decoding import DecodeConfig, DecodeInputError, dream_schedule, llada_schedule
from tie.decoding.schedule import plan_blocks


@pytest.mark.parametrize(
    "n,spb,expected",
    [
        ((10, 4, [3, 3, 2, 2])),
        ((32, 5, [7, 7, 6, 6, 6])),
        ((8, 8, [1] * 8)),
        ((16, 2, [8, 8])),
        ((3, 5, [1, 1, 1, 0, 0])),  # spb > block size: trailing zero-quota steps
        ((0, 3, [0, 0, 0])),
    ],
)
def test_llada_quota_table(n, spb, expected):
    assert llada_schedule(n, spb) == expected
    assert sum(expected) == n


def test_dream_schedule_tables():
    s = dream_schedule(256, 256)
    assert s[0] == 0 and s[-1] == 2 and set(s[1:-1]) == {1}
    s = dream_schedule(256, 128)
    assert s[0] == 1 and s[-1] == 3 and set(s[1:-1]) == {2}


@pytest.mark.parametrize("n,steps", [(256, 256), (256, 128), (8, 4), (10, 3), (5, 1), (7, 20)])
def test_dream_schedule_sums_to_n(n, steps):
    s = dream_schedule(n, steps)
    assert len(s) == steps and sum(s) == n and min(s) >= 0


def test_plan_blocks_strict_and_ceil():
    p = plan_blocks(32, 10, DecodeConfig(block_length=8, steps=16))
    assert (p.num_blocks, p.steps_per_block, p.start) == (4, 4, 10)
    assert plan_blocks(32, 0, DecodeConfig(block_length=8)).steps_per_block is None
    c = plan_blocks(30, 0, DecodeConfig(block_length=8, steps=10, rounding="ceil"))
    assert (c.num_blocks, c.steps_per_block) == (4, 3)


def test_plan_blocks_errors_name_the_problem():
    with pytest.raises(DecodeInputError, match="not divisible by block_length 8"):
        plan_blocks(30, 0, DecodeConfig(block_length=8, steps=8))
    with pytest.raises(
        DecodeInputError, match="steps 10 is not divisible by the number of blocks 4"
    ):
        plan_blocks(32, 0, DecodeConfig(block_length=8, steps=10))
