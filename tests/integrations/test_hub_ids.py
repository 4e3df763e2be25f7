"""Hub ids as constituents: `models=[GSAI-ML/LLaDA-8B-Instruct, ...]` resolves through the Hugging
Face cache with HF_HUB_OFFLINE=1 and loads with our native classes; a missing id fails with one
line naming the cache and how to download, before any model loads.

Cost: a few seconds (in-process tie-run decoding 2 problems with two zoo-sized models, one that
fails at planning)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from hub_cache import STAND_INS, make_cache, revision_of

from tie.hub import HubCacheError, is_hub_id, resolve_hub_id


@pytest.fixture
def hf_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "hf"
    make_cache(home)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


def test_the_laid_out_cache_is_the_hubs_own_layout(hf_home):
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(hf_home / "hub")
    assert not info.warnings
    repos = {r.repo_id: r for r in info.repos}
    assert set(repos) == set(STAND_INS)
    for repo_id, member in STAND_INS.items():
        (rev,) = repos[repo_id].revisions
        assert rev.commit_hash == revision_of(member) and "main" in rev.refs
        assert {f.file_name for f in rev.files} >= {"config.json", "model.safetensors"}


def test_hub_id_resolves_offline_to_its_snapshot_and_loads_the_native_class(hf_home):
    from tie.models import LLaDAModelLM, load_backend

    snap = resolve_hub_id("GSAI-ML/LLaDA-8B-Instruct")
    assert snap == hf_home / "hub/models--GSAI-ML--LLaDA-8B-Instruct/snapshots" / revision_of(
        "llada-a"
    )
    assert resolve_hub_id(f"GSAI-ML/LLaDA-8B-Instruct@{revision_of('llada-a')}") == snap
    hub = load_backend("GSAI-ML/LLaDA-8B-Instruct")
    zoo = load_backend("zoo:llada-a")
    assert isinstance(hub.model, LLaDAModelLM) and not hub.remote
    ids = torch.tensor([zoo.chat_prompt("e1+e2=")])
    assert torch.equal(hub.logits(ids), zoo.logits(ids))  # the same weights, through the cache


def test_hub_id_syntax():
    assert is_hub_id("GSAI-ML/LLaDA-8B-Instruct") and is_hub_id("org/name@main")
    for not_id in ("llada-a", "zoo:llada-a", "/abs/path", "./rel/dir", "a/b/c"):
        assert not is_hub_id(not_id)


def test_missing_hub_id_names_the_cache_and_the_download(hf_home):
    with pytest.raises(HubCacheError) as err:
        resolve_hub_id("GSAI-ML/LLaDA-1.5")
    msg = str(err.value)
    assert str(hf_home / "hub") in msg and "HF_HOME" in msg
    assert "hf download GSAI-ML/LLaDA-1.5" in msg


def tie_run(args: list[str], monkeypatch) -> None:
    """tie-run's own entry point, in this process (saves a torch import per test)."""
    from hydra.core.global_hydra import GlobalHydra

    from tie import run

    monkeypatch.setattr(sys, "argv", ["tie-run", *args])
    GlobalHydra.instance().clear()
    run.main()


def test_tie_run_with_hub_ids_end_to_end(hf_home, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    run_dir = tmp_path / "run"
    tie_run(
        ["models=[GSAI-ML/LLaDA-8B-Instruct,Dream-org/Dream-v0-Instruct-7B]",
         "ensemble.methods=[single,post]", "data.limit=2", "data.batch_size=2", "logger=none",
         "progress=false", "stats.n_boot=100", f"hydra.run.dir={run_dir}"],
        monkeypatch,
    )  # fmt: skip
    rows = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert {r["method"] for r in rows} == {
        "single:LLaDA-8B-Instruct", "single:Dream-v0-Instruct-7B", "post",
    }  # fmt: skip
    assert {r["selected_model"] for r in rows if r["method"] == "post"} <= {
        "LLaDA-8B-Instruct", "Dream-v0-Instruct-7B",
    }  # fmt: skip


def test_tie_run_refuses_a_missing_hub_id_in_one_line_before_loading(
    hf_home, tmp_path, monkeypatch
):
    import tie.models

    def no_loading(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(tie.models, "load_backend", no_loading)  # what default_api binds
    with pytest.raises(SystemExit) as exit_:
        tie_run(
            ["models=[GSAI-ML/LLaDA-1.5,llada-a]", "logger=none", "progress=false",
             f"hydra.run.dir={tmp_path / 'run'}"],
            monkeypatch,
        )  # fmt: skip
    first = str(exit_.value.code).splitlines()[0]
    assert first.startswith("tie-run: RunConfigError: hub model 'GSAI-ML/LLaDA-1.5'")
    assert "not in the Hugging Face cache" in first and "hf download GSAI-ML/LLaDA-1.5" in first
    assert not (tmp_path / "run" / "parts").exists()
