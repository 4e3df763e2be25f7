"""Bad input fails with a message naming the problem, before any decoding starts."""

from __future__ import annotations

import orch_fakes
import pytest

from tie.run import execute
from tie.runs.errors import RunConfigError


@pytest.fixture(autouse=True)
def _count_calls():
    orch_fakes.CALLS["run_method"] = 0
    yield
    assert orch_fakes.CALLS["run_method"] == 0, "decoding started despite bad input"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["ensemble.interval=0"], "interval must be an integer >= 1"),
        (["ensemble.methods=[single,bogus]"], "valid kinds"),
        (["ensemble.methods=[tie:bogus]"], "unknown TIE scoring"),
        (["ensemble.scoring=bogus"], "valid: \\['tcc'"),
        (["models=[llada-a,nonexistent]"], "valid names are .*dream-b"),
        (["models=[llada-a]"], "need at least 2 constituents"),
        (["models=[llada-a,llada-a]"], "duplicate"),
        (["ensemble.methods=[single:dream-7b]"], "not a constituent"),
        (["+ensemble.options.bogus=1"], r"unknown key ensemble\.options\.bogus; valid keys"),
        (["ensemble.options.final_selection=best_model"], "best_model"),
        (["ensemble.options.best_model=zzz"], "not a constituent"),
        (["data.limit=0"], "data.limit"),
        (["data.batch_size=0"], "data.batch_size"),
        (["placement=spread"], "placement"),
        (["+decoding.blocks=3"], r"unknown key decoding\.blocks.*valid keys"),
    ],
)
def test_invalid_run_config_is_named(make_cfg, overrides, message):
    with pytest.raises(RunConfigError, match=message):
        execute(make_cfg(*overrides))


def test_missing_task_data_names_the_file(make_cfg, tmp_path):
    with pytest.raises(FileNotFoundError, match="/nowhere/gsm8k.jsonl"):
        execute(make_cfg("task=gsm8k", "task.options.data_files=/nowhere/gsm8k.jsonl"))
    assert not (tmp_path / "run" / "parts").exists()


def test_cross_model_scoring_needs_every_tokenizer(make_cfg):
    bad = "+model_overrides.dream-b.path=zoo:notokenizer"
    with pytest.raises(RunConfigError, match="cross-model scoring needs a tokenizer"):
        execute(make_cfg(bad, "ensemble.methods=[tie:top1]"))


def test_tcc_or_source_only_scoring_does_not_need_tokenizers(make_cfg):
    bad = "+model_overrides.dream-b.path=zoo:notokenizer"
    execute(
        make_cfg(
            bad, "ensemble.methods=[tie:top1]", "ensemble.options.cross_model=false", "data.limit=4"
        )
    )
    orch_fakes.CALLS["run_method"] = 0  # it ran: reset for the autouse check


def test_unknown_logger_kind(make_cfg):
    with pytest.raises(RunConfigError, match="logger.kind"):
        execute(make_cfg("logger.kind=tensorboard", "data.limit=4"))


def test_cli_reports_user_errors_as_one_line(tmp_path, monkeypatch):
    import sys

    from hydra.core.global_hydra import GlobalHydra

    from tie import run

    monkeypatch.setattr(sys, "argv", ["tie-run", "api=orch_fakes:fake_api", "ensemble.interval=0",
                                      f"hydra.run.dir={tmp_path / 'r'}"])  # fmt: skip
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as exc:
        run.main()
    assert str(exc.value).startswith("tie-run: RunConfigError: bad value ensemble.interval=0")
