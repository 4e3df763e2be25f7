"""tie-run mode=decode: one model, chat prompt, tie.decoding.generate, text printed."""

from __future__ import annotations

import pytest

from tie.run import execute
from tie.runs.errors import RunConfigError


def test_decode_mode_prints_generated_text_of_the_chat_prompt(make_cfg, capsys):
    text = execute(make_cfg("mode=decode", "model=llada-a", "prompt='1 plus 2'"))
    assert text == "echo:<u>1 plus 2</u>"[: len(text)]
    assert text.startswith("echo:<u>1 plus 2")
    assert text in capsys.readouterr().out


def test_decode_mode_accepts_a_checkpoint_path(make_cfg):
    text = execute(make_cfg("mode=decode", "model.path=/ckpt/mine", "prompt=hello"))
    assert text.startswith("echo:<u>hello")


def test_decode_mode_without_prompt_fails_clearly(make_cfg):
    with pytest.raises(RunConfigError, match="prompt"):
        execute(make_cfg("mode=decode"))


def test_unknown_mode_lists_valid_modes(make_cfg):
    with pytest.raises(RunConfigError, match="evaluate"):
        execute(make_cfg("mode=train"))
