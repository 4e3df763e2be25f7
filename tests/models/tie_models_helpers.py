"""Tiny tokenizers and checkpoint directories for the model-backend tests (no downloads).

A uniquely named module (not `conftest`) so test files can import the helpers without clashing
with the other test folders' conftest modules; `conftest.py` re-exports the fixtures.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

from tie.models import DreamConfig, DreamModel, LLaDAConfig, LLaDAModelLM

torch.set_num_threads(1)

CHARS = string.ascii_letters + string.digits + " \n.,:;!?'+-=*/()"
VOCAB_SIZE = 128  # model rows; the tokenizers use fewer ids

LLADA_TEMPLATE = (
    "{% for m in messages %}{% set turn = '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n'"
    " + m['content'] | trim + '<|eot_id|>' %}{% if loop.first %}{% set turn = bos_token + turn %}"
    "{% endif %}{{ turn }}{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
CHATML_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
    "<|im_end|>\n{% endif %}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

FAMILY_SPECIALS = {
    # LLaDA's mask token is in the vocabulary but not registered as the tokenizer's mask token.
    "llada": [
        "<|startoftext|>", "<|endoftext|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|eot_id|>", "<|mdm_mask|>",
    ],
    "dream": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|mask|>"],
}  # fmt: skip


def make_tokenizer(
    family: str, mask: bool = True, template: bool = True
) -> PreTrainedTokenizerFast:
    """Character-level tokenizer with the family's special tokens and chat template."""
    specials = [s for s in FAMILY_SPECIALS[family] if mask or "mask" not in s]
    vocab = {"<unk>": 0}
    for tok in [*CHARS, *specials]:
        vocab.setdefault(tok, len(vocab))
    raw = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    raw.decoder = decoders.Fuse()
    raw.add_special_tokens(specials)
    kwargs: dict = {"unk_token": "<unk>", "pad_token": "<|endoftext|>"}
    if family == "llada":
        kwargs |= {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"}
    else:
        kwargs |= {"eos_token": "<|im_end|>"}
        if mask:
            kwargs["mask_token"] = "<|mask|>"
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, **kwargs)
    if template:
        tok.chat_template = LLADA_TEMPLATE if family == "llada" else CHATML_TEMPLATE
    return tok


def make_model(family: str, seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    if family == "llada":
        cfg = dict(
            d_model=32, n_heads=4, n_kv_heads=2, n_layers=2, mlp_hidden_size=64,
            vocab_size=VOCAB_SIZE, rope_theta=500000.0, max_sequence_length=4096,
        )  # fmt: skip
        cfg.update(overrides)
        return LLaDAModelLM(LLaDAConfig(**cfg)).eval()
    cfg = dict(
        hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2,
        intermediate_size=64, vocab_size=VOCAB_SIZE, max_position_embeddings=131072,
    )  # fmt: skip
    cfg.update(overrides)
    return DreamModel(DreamConfig(**cfg)).eval()


def layered_backend(family: str, layers: int = 2, seed: int = 0):
    """Our backend over a tiny `family` model with `layers` layers (the KV-cache tests: one layer
    makes a cache exact, two make it an approximation)."""
    from tie.models import TransformersBackend

    key = "n_layers" if family == "llada" else "num_hidden_layers"
    model = make_model(family, seed=seed, **{key: layers})
    return TransformersBackend(model, make_tokenizer(family), family, f"tiny-{family}")


def save_checkpoint(
    path: Path, family: str, tokenizer_mask: bool = True, config_mask: bool = True, **overrides
) -> Path:
    """A complete HF-layout checkpoint directory of a tiny model of `family`."""
    tok = make_tokenizer(family, mask=tokenizer_mask)
    if config_mask:
        mask_token = "<|mdm_mask|>" if family == "llada" else "<|mask|>"
        overrides.setdefault("mask_token_id", tok.get_vocab().get(mask_token))
    model = make_model(family, **overrides)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def llada_dir(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("llada"), "llada")


@pytest.fixture(scope="session")
def dream_dir(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("dream"), "dream")


@pytest.fixture(params=["llada", "dream"])
def family_dir(request, llada_dir, dream_dir) -> tuple[str, Path]:
    return request.param, (llada_dir if request.param == "llada" else dream_dir)
