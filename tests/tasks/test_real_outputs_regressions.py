"""Regressions from the grader audit on real LLaDA-8B-Instruct outputs (analysis/grader_audit.py).

Each fixture is a short verbatim quote of a real generation from
`../shared/data/real-outputs/llada-8b-instruct/` (dllm-reasoning/d1 eval_baselines, Apache-2.0),
file and index named in the comment; the text passed to `extract` is what follows the d1
format's answer marker (`<answer>`, else `</reasoning>`), as the audit does. Every test but the
two guards (the comma in a box, the Countdown block) failed before the fix it covers. No shared
data is needed: the snippets are inline.
"""

import time

import pytest

from tie.tasks.benchmark import answer_region
from tie.tasks.countdown_task import CountdownTask
from tie.tasks.grading import boxed_contents, extract_final_number
from tie.tasks.gsm8k import GSM8KTask
from tie.tasks.math500 import Math500Task, extract_math_answer

EOT = "<|eot_id|><|endoftext|><|endoftext|>"


def _gsm_row(gold: str) -> dict:
    return {"id": "gsm8k/x", "gold": gold, "category": "gsm8k", "question": "q"}


# --- GSM8K -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "gold"),
    [
        # gsm8k shard0 #10: display-math opener on its own line; the first line had no number.
        ("\n\\[\n\\boxed{83}\n</answer>" + EOT, "83"),
        # gsm8k shard0 #61: `<answer>` written as `<>`, region after `</reasoning>`.
        ("\n\n<>\n\\boxed{88}\n>" + EOT, "88"),
        # gsm8k shard0 #93: `<answer>` opened mid-reasoning; the first line's number is 3.
        (
            "\nfind out how old Jerry will be in 3 years, we add 3 to his current age:\n"
            "\\[ 10 + 3 = 13 \\]\n\nTherefore, Jerry will be \\boxed{13} years old in 3 years."
            + EOT,
            "13",
        ),
        # gsm8k shard0 #180: the boxed answer, not the first line (`\[`) nor the stray `112`.
        (
            "\n   \\[\n   5168 - 4043 = 1125\n   \\]\n\n"
            "Therefore, the IRS received 112\\boxed{1125}" + EOT,
            "1125",
        ),
    ],
)
def test_gsm8k_boxed_answer_after_markup_or_reasoning(region, gold):
    task = GSM8KTask()
    extracted, ok = task.score(region, _gsm_row(gold))
    assert (extracted, ok) == (gold, True)


def test_gsm8k_markup_only_lines_are_skipped():
    # shard0 #61 without the box: a `<>` line must not hide the number on the next line.
    assert extract_final_number("\n\n<>\n88\n>") == "88"
    # The first-line rule itself is unchanged for lines with words.
    assert extract_final_number("unknown\n42") is None


def test_gsm8k_thousands_comma_in_box():
    # shard0 `\boxed{6,250}` (d1's own float() parse reads 6 here; ours must read 6250).
    assert extract_final_number("\n\\boxed{6,250} \n</answer>" + EOT) == "6250"


# --- MATH500 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer_text", "expected"),
    [
        # math500 shard2 #15: box inside a display-math block split over lines (was `\[`).
        ("\n\n\\[\n\\boxed{\\frac{1}{4}}\n\\]" + EOT, "\\frac{1}{4}"),
        # math500 shard1 #12: a lone backslash line before the box (was `\`).
        ("\n\\\n\\boxed{4}\n\n</answer>" + EOT, "4"),
        # math500 shard1 #41: box never closed (was `\boxed{2000`).
        ("\n\\boxed{2000\n</answer>" + EOT, "2000"),
        # math500 shard1 #5: nothing after `</reasoning>` but end tokens (was the tokens).
        ("<|eot_id|><|endoftext|>", None),
    ],
)
def test_math500_extraction_on_real_answer_blocks(answer_text, expected):
    task = Math500Task()
    assert task.extract(answer_text, {"gold": "1"}) == expected


def test_math500_first_line_rule_kept_without_a_box():
    assert extract_math_answer("Answer:\n\\[\nx^2 + 1\n\\]") == "x^2 + 1"
    assert extract_math_answer("Answer: 7\nAnswer: 8") == "7"


# --- shared pieces -----------------------------------------------------------------------------


def test_answer_region_drops_text_after_end_token():
    assert answer_region(" C<|eot_id|><|endoftext|>D", "Answer:") == "Answer: C"
    assert answer_region("<|endoftext|>", "Answer:") == "Answer:"


def test_countdown_real_answer_block_with_end_tokens():
    # countdown shard0 #0: the d1 answer block, end tokens included.
    task = CountdownTask(variant="cd3")
    row = {"nums": [49, 55, 53], "target": 51, "gold": "51"}
    assert task.score("\n\\boxed{49 + 55 - 53}\n</answer>" + EOT, row) == ("49 + 55 - 53", True)


def test_boxed_contents_is_linear_on_unclosed_boxes():
    assert boxed_contents("\\boxed{1} \\boxed{\\frac{1}{2}} \\boxed{x") == ["1", "\\frac{1}{2}"]
    start = time.perf_counter()
    assert boxed_contents("\\boxed{" * 50_000) == []
    assert time.perf_counter() - start < 1.0
