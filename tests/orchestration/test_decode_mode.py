"""tie-run mode=decode: one model, one prompt, text printed; on the task's canvas by default
(what evaluate decodes, so a zoo member answers as it does in evaluate mode), or plain."""

from __future__ import annotations

import pytest

from tie.run import execute
from tie.runs.errors import RunConfigError


def test_decode_mode_prints_generated_text_of_the_chat_prompt(make_cfg, capsys):
    text = execute(
        make_cfg("mode=decode", "decode_canvas=plain", "model=llada-a", "prompt='1 plus 2'")
    )
    assert text == "echo:<u>1 plus 2</u>"[: len(text)]
    assert text.startswith("echo:<u>1 plus 2")
    assert text in capsys.readouterr().out


def test_decode_mode_accepts_a_checkpoint_path(make_cfg):
    text = execute(
        make_cfg("mode=decode", "decode_canvas=plain", "model.path=/ckpt/mine", "prompt=hello")
    )
    assert text.startswith("echo:<u>hello")


def test_decode_mode_without_prompt_fails_clearly(make_cfg):
    with pytest.raises(RunConfigError, match="prompt"):
        execute(make_cfg("mode=decode"))


def test_unknown_mode_lists_valid_modes(make_cfg):
    with pytest.raises(RunConfigError, match="evaluate"):
        execute(make_cfg("mode=train"))


def test_decode_mode_runs_the_single_method_on_the_task_canvas(make_cfg):
    """The fake single:<m> answers str(i % 5) or "x" for problem pNNN; decode prints
    reasoning, then the task's answer suffix and the answer."""
    text = execute(make_cfg("mode=decode", "model=llada-a", "prompt='question p007'"))
    reasoning, answer = text.splitlines()
    assert reasoning == "r" and answer in ("Answer: 2", "Answer: x")


def test_unknown_decode_canvas_is_named(make_cfg):
    with pytest.raises(RunConfigError, match="decode_canvas"):
        execute(make_cfg("mode=decode", "model=llada-a", "prompt=x", "decode_canvas=free"))


def zoo_cfg(make_cfg, *overrides):
    return make_cfg("api=tie.runs.api:default_api", "models=[llada-a]", "model=llada-a",
                    "ensemble.methods=[single]", *overrides)  # fmt: skip


def test_decode_mode_on_a_zoo_member_gives_the_answer_evaluate_mode_gives(
    make_cfg, tmp_path, capfd
):
    """Issue 22: `tie-run mode=decode model=llada-a prompt=...` must not make a working zoo
    model look broken: it decodes on the answer-suffix canvas, like evaluate mode. A normal run
    prints no per-model loading bars and no Lightning deprecation warning."""
    import json
    import warnings

    from tie.tasks import get_task

    task = get_task("synth_math")
    row = task.load()[0]
    prompt = task.build_prompt(row)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = execute(
            zoo_cfg(make_cfg, "data.limit=1", "data.batch_size=1", "tracing.enabled=false")
        )
    assert not [w for w in caught if "deprecated" in str(w.message)], [
        str(w.message) for w in caught
    ]
    assert "Loading weights" not in capfd.readouterr().err
    (pred,) = [
        json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    ]
    text = execute(zoo_cfg(make_cfg, "mode=decode", f"prompt='{prompt}'"))
    assert "Loading weights" not in capfd.readouterr().err
    reasoning, answer = text.rsplit("\n", 1)
    assert answer == f"{task.answer_suffix} {pred['prediction']}"
    assert reasoning == pred["reasoning"]
    assert metrics["methods"]["single:llada-a"]["n"] == 1


def test_an_out_of_vocabulary_prompt_is_refused_naming_the_characters(make_cfg):
    with pytest.raises(RunConfigError, match=r"vocabulary.*\['é', '€'\]"):
        execute(zoo_cfg(make_cfg, "mode=decode", "prompt='e123+é€='"))
