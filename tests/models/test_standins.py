"""`tie-standins`: tiny random checkpoints in the published layout load and decode like real ones.

Cost: one module-scoped write of all five stand-ins (~10 s on 2 idle cores) plus one load of each
(~1-3 s each: the Dream tokenizers read the real 151k-entry Qwen vocabulary), a second write of two
models for the determinism check, and small tmp writes for the bad-input cases.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from tie.models import load_backend
from tie.models.checkpoint import CheckpointError, tensor_shapes, weight_files
from tie.models.manifest import load_manifest
from tie.models.standins import (
    CONF_NAMES,
    LLADA_BPE,
    LLADA_CORPUS,
    SPECS,
    StandinError,
    llada_corpus,
    main,
    resolve_names,
    save_llada_bpe,
    train_llada_bpe,
    write_standins,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CONF_MODEL = Path(__file__).resolve().parents[2] / "conf" / "model"
# Config keys a stand-in may change (sizes only); everything else is the published value.
SIZE_KEYS = {
    "llada": {"d_model", "n_heads", "n_kv_heads", "n_layers", "mlp_hidden_size"},
    "dream": {
        "hidden_size",
        "num_attention_heads",
        "num_key_value_heads",
        "num_hidden_layers",
        "max_window_layers",
        "intermediate_size",
    },
}
LLADA_IDS = {
    "<|startoftext|>": 126080,
    "<|endoftext|>": 126081,
    "<|mdm_mask|>": 126336,
    "<|start_header_id|>": 126346,
    "<|end_header_id|>": 126347,
    "<|eot_id|>": 126348,
}
DREAM_IDS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|beginoftext|>": 151665,
    "<|mask|>": 151666,
}


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> dict[str, Path]:
    lines: list[str] = []
    out = write_standins(tmp_path_factory.mktemp("standins"), progress=lines.append)
    assert len(lines) == len(SPECS) and all(line.startswith("wrote ") for line in lines)
    return out


@pytest.fixture(scope="module")
def backends(standins):
    return {name: load_backend(path) for name, path in standins.items()}


def real_text() -> str:
    """A GSM8K row and a HumanEval prompt from the committed fixtures (real benchmark text)."""
    gsm = json.loads((FIXTURES / "gsm8k" / "test.jsonl").read_text().splitlines()[0])
    code = json.loads((FIXTURES / "humaneval" / "HumanEval.jsonl").read_text().splitlines()[0])
    return gsm["question"] + "\n" + gsm["answer"] + "\n" + code["prompt"]


def test_folder_names_are_the_ones_conf_model_expects(standins):
    expected = {}
    for path in CONF_MODEL.glob("*.yaml"):
        m = re.search(r"\$\{paths\.models_dir\}/(\S+)", path.read_text())
        if m:
            expected[path.stem] = m.group(1)
    assert expected == {s.conf_name: s.folder for s in SPECS.values()}
    assert sorted(standins) == sorted(expected.values())
    assert all((p / "config.json").is_file() for p in standins.values())


def test_names_select_by_folder_or_conf_name():
    assert resolve_names(None) == list(SPECS)
    assert resolve_names(["dream-7b-instruct", "LLaDA-1.5"]) == [
        "Dream-v0-Instruct-7B",
        "LLaDA-1.5",
    ]
    assert resolve_names("diffucoder-7b") == ["DiffuCoder-7B-Instruct"]
    assert set(CONF_NAMES.values()) == set(SPECS)


@pytest.mark.parametrize("name", list(SPECS))
def test_each_standin_loads_and_runs(backends, name):
    spec = SPECS[name]
    b = backends[name]
    assert b.family == spec.family and b.info.extra["backend"] == "native"
    published = load_manifest(spec.manifest)["config"]
    assert b.info.vocab_size == published["vocab_size"]
    assert b.mask_id == published["mask_token_id"]
    ids = b.chat_prompt("What is 2 + 3?")
    x = torch.full((1, len(ids) + 16), b.mask_id)
    x[0, : len(ids)] = torch.tensor(ids)
    logits = b.logits(x)
    assert logits.shape == (1, x.shape[1], published["vocab_size"])
    assert torch.isfinite(logits).all()
    text = b.tokenizer.decode(logits[0].argmax(-1).tolist())
    assert isinstance(text, str) and text  # garbage, but text


@pytest.mark.parametrize("name", list(SPECS))
def test_config_is_published_with_sizes_shrunk(standins, name):
    spec = SPECS[name]
    cfg = json.loads((standins[name] / "config.json").read_text())
    published = load_manifest(spec.manifest)["config"]
    assert set(cfg) == set(published)
    changed = {k for k in cfg if cfg[k] != published[k]}
    assert changed <= SIZE_KEYS[spec.family], changed
    for key in ("model_type", "architectures", "auto_map", "mask_token_id", "vocab_size"):
        assert cfg[key] == published[key]
    if spec.family == "llada":
        assert cfg["model_type"] == "llada" and cfg["architectures"] == ["LLaDAModelLM"]
        assert (cfg["mask_token_id"], cfg["eos_token_id"], cfg["pad_token_id"]) == (
            126336,
            126081,
            126081,
        )
        assert cfg["weight_tying"] is False and cfg["embedding_size"] == 126464
        assert cfg["rope_theta"] == 500000.0 and cfg["rms_norm_eps"] == 1e-5
    else:
        assert cfg["model_type"] == "Dream" and cfg["architectures"] == ["DreamModel"]
        assert cfg["auto_map"]["AutoModel"] == "modeling_dream.DreamModel"
        assert (cfg["mask_token_id"], cfg["pad_token_id"], cfg["bos_token_id"]) == (
            151666,
            151643,
            151643,
        )
        assert cfg["tie_word_embeddings"] is False and cfg["vocab_size"] == 152064
        assert cfg["rope_theta"] == 1000000.0 and cfg["rms_norm_eps"] == 1e-6
        assert cfg["num_attention_heads"] > cfg["num_key_value_heads"]  # GQA kept
    gen = json.loads((standins[name] / "generation_config.json").read_text())
    assert gen["eos_token_id"] == (126081 if spec.family == "llada" else 151643)


@pytest.mark.parametrize("name", list(SPECS))
def test_tensor_names_are_the_manifest_names(standins, name):
    """Every tensor is a published name (layers beyond the stand-in's depth dropped), with the
    published vocabulary dimension; the index lists the published number of shards."""
    spec = SPECS[name]
    path = standins[name]
    manifest = load_manifest(spec.manifest)["parameters"]
    cfg = json.loads((path / "config.json").read_text())
    n_layers = cfg["n_layers" if spec.family == "llada" else "num_hidden_layers"]

    def layer(key: str) -> int:
        m = re.search(r"\.(?:blocks|layers)\.(\d+)\.", key)
        return -1 if m is None else int(m.group(1))

    expected = {k: v for k, v in manifest.items() if layer(k) < n_layers}
    found = tensor_shapes(weight_files(path))
    assert sorted(found) == sorted(expected)
    for key, shape in found.items():
        assert len(shape) == len(expected[key]), key
    vocab_keys = [k for k in expected if expected[k][0] in (126464, 152064)]
    assert vocab_keys and all(found[k][0] == expected[k][0] for k in vocab_keys)
    index = json.loads((path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) == spec.n_shards


def test_llada_tokenizer_ids_round_trip_and_template(backends):
    tok = backends["LLaDA-8B-Instruct"].tokenizer
    for token, i in LLADA_IDS.items():
        assert tok.convert_tokens_to_ids(token) == i
        assert tok.convert_ids_to_tokens(i) == token
    assert tok.bos_token_id == 126080 and tok.eos_token_id == tok.pad_token_id == 126081
    assert tok.mask_token is None  # as published: LLaDA does not register its mask token
    assert len(tok) == 126349  # regular 126080 + 269 added; 126349..126463 only in the embedding
    text = real_text()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert max(ids) < 126080
    assert len(ids) < len(text) / 2  # a trained BPE, not characters
    rendered = backends["LLaDA-8B-Instruct"].tokenizer.apply_chat_template(
        [{"role": "user", "content": " Hi "}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == (
        "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    filler = tok.decode([126079])  # the last regular id: a pseudo-word, not empty
    assert filler.strip() and filler[0] == " "


@pytest.mark.parametrize(
    "name", ["Dream-v0-Instruct-7B", "DreamCoder-v0-Instruct-7B", "DiffuCoder-7B-Instruct"]
)
def test_dream_tokenizers_are_qwen_with_dream_ids(backends, name):
    tok = backends[name].tokenizer
    for token, i in DREAM_IDS.items():
        assert tok.convert_tokens_to_ids(token) == i
    assert tok.mask_token_id == 151666 and tok.bos_token_id == 151665
    assert tok.eos_token_id == 151643
    text = real_text()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text and max(ids) < 151643
    assert tok("Hello world", add_special_tokens=False)["input_ids"] == [9707, 1879]  # Qwen2 ids
    rendered = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    if name == "DiffuCoder-7B-Instruct":
        assert tok.convert_tokens_to_ids("<|dlm_pad|>") == 151667
        assert tok.pad_token == "<|dlm_pad|>" and 151667 in backends[name].eos_ids
    else:
        assert "<|dlm_pad|>" not in tok.get_vocab() and tok.pad_token_id == 151643


def test_families_tokenize_the_same_text_differently(backends):
    text = real_text()
    llada = backends["LLaDA-8B-Instruct"].tokenizer(text, add_special_tokens=False)["input_ids"]
    dream = backends["Dream-v0-Instruct-7B"].tokenizer(text, add_special_tokens=False)["input_ids"]
    assert llada != dream and len(llada) != len(dream)


def test_deterministic_and_independent_of_selection(standins, tmp_path):
    """Two models written alone, twice, have the bytes of the full write."""
    names = ["LLaDA-1.5", "DiffuCoder-7B-Instruct"]
    again = write_standins(tmp_path, ["llada-1.5", "diffucoder-7b"])
    for name in names:
        files = sorted(p.name for p in standins[name].iterdir())
        assert files == sorted(p.name for p in again[name].iterdir())
        for f in files:
            assert (standins[name] / f).read_bytes() == (again[name] / f).read_bytes(), (name, f)


def test_a_second_write_replaces_a_standin_but_never_a_real_folder(tmp_path):
    write_standins(tmp_path, ["dream-7b-instruct"], hidden=16, layers=1)
    write_standins(tmp_path, ["dream-7b-instruct"], hidden=16, layers=1)  # own folder: replaced
    real = tmp_path / "LLaDA-8B-Instruct"
    real.mkdir()
    (real / "model-00001-of-00006.safetensors").write_bytes(b"precious")
    with pytest.raises(StandinError, match="refusing to overwrite"):
        write_standins(tmp_path, ["llada-8b-instruct"])
    assert (real / "model-00001-of-00006.safetensors").read_bytes() == b"precious"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"names": ["llada-9b"]}, "unknown stand-in 'llada-9b'"),
        ({"names": []}, "no stand-in selected"),
        ({"hidden": 30}, "hidden=30 must divide"),
        ({"layers": 0}, "layers must be"),
        ({"heads": 3}, "heads must be"),
    ],
)
def test_bad_input_is_refused_before_writing(tmp_path, kwargs, match):
    with pytest.raises(StandinError, match=match):
        write_standins(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StandinError, match="exists and is not a directory"):
        write_standins(tmp_path / "file", ["llada-1.5"])


def test_cli_writes_and_refuses(tmp_path, capsys):
    assert main([str(tmp_path), "--only", "dream-7b-instruct", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert "wrote " in out and "TIE_MODELS_DIR=" in out
    assert (tmp_path / "Dream-v0-Instruct-7B" / "vocab.json").is_file()
    assert main([str(tmp_path), "--only", "gpt-5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tie-standins: error: unknown stand-in 'gpt-5'") and "\n" not in err


@pytest.mark.parametrize(
    ("name", "remove", "named"),
    [
        ("LLaDA-8B-Instruct", "tokenizer.json", "tokenizer.json (or vocab.json + merges.txt)"),
        ("LLaDA-8B-Instruct", "tokenizer_config.json", "tokenizer_config.json"),
        ("Dream-v0-Instruct-7B", "vocab.json", "vocab.json"),
        ("Dream-v0-Instruct-7B", "merges.txt", "merges.txt"),
    ],
)
def test_missing_tokenizer_file_is_named(standins, tmp_path, name, remove, named):
    path = tmp_path / name
    shutil.copytree(standins[name], path)
    (path / remove).unlink()
    with pytest.raises(CheckpointError) as err:
        load_backend(path)
    message = str(err.value)
    assert named in message and "\n" not in message
    assert message.startswith(f"checkpoint {str(path)!r} is missing tokenizer file")


# Byte sizes of published files: read from the copy of LLaDA-8B-Instruct's files (exact) and from
# the Hub listings of the Dream-family repositories (exact bytes where shown, else MB to 2 places).
PUBLISHED_BYTES = {
    "LLaDA-8B-Instruct": {
        "tokenizer_config.json": 51692,
        "special_tokens_map.json": 747,
        "generation_config.json": 128,
    },
    "Dream-v0-Instruct-7B": {"generation_config.json": 326, "added_tokens.json": 656},
    "DreamCoder-v0-Instruct-7B": {"added_tokens.json": 656, "generation_config.json": 147},
    "DiffuCoder-7B-Instruct": {"added_tokens.json": 681, "generation_config.json": 326},
}
PUBLISHED_MB = {"merges.txt": 1.67, "vocab.json": 2.78}


@pytest.mark.parametrize("name", sorted(PUBLISHED_BYTES))
def test_file_sizes_match_the_published_files(standins, name):
    for fname, size in PUBLISHED_BYTES[name].items():
        assert (standins[name] / fname).stat().st_size == size, fname
    if SPECS[name].family == "dream":
        for fname, mb in PUBLISHED_MB.items():
            assert round((standins[name] / fname).stat().st_size / 1e6, 2) == mb, fname
        merges = (standins[name] / "merges.txt").read_bytes()
        assert b"\r" not in merges and merges.count(b"\n") == 151388  # header + 151,387 merges
        assert len(json.loads((standins[name] / "vocab.json").read_text())) == 151643


@pytest.mark.shared_data
@pytest.mark.skipif(
    not all(list(SHARED_DATA.glob(p)) for p in LLADA_CORPUS),
    reason=f"optional shared-data tier: {SHARED_DATA} lacks the LLaDA BPE corpus {LLADA_CORPUS}",
)
def test_llada_bpe_asset_is_reproduced_from_shared_data(tmp_path):
    """The committed LLaDA BPE is exactly what training on ../shared/data gives (~5 s)."""
    texts = llada_corpus(SHARED_DATA)
    assert len(texts) > 4000
    save_llada_bpe(train_llada_bpe(texts), tmp_path / "bpe.json.gz")
    assert (tmp_path / "bpe.json.gz").read_bytes() == LLADA_BPE.read_bytes()
