"""Tiny HF-style tokenizers for the zoo: character level, optionally with a few merged tokens.

Each family gets its own special tokens and a short chat template in its own style (Llama-3-like
for LLaDA, ChatML-like for Dream), so the zoo's prompts look like the real models'. Extra merged
tokens (e.g. `Answer:` as one token) and a shuffled character order give members genuinely
different vocabularies, which forces the ensemble's cross-tokenizer relay to go through text.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast

# Every character the synthetic tasks and the chat templates' plain text use.
BASE_CHARS = "0123456789e+-*=;,()>Answr:\n"
ROLE_TOKENS = ("system", "user", "assistant")
MAX_LENGTH = 256

FAMILY_SPECIALS: dict[str, dict[str, str]] = {
    "llada": {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "mask_token": "<|mdm_mask|>",
        "unk_token": "<unk>",
    },
    "dream": {
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "mask_token": "<|mask|>",
        "unk_token": "<unk>",
    },
}
FAMILY_EXTRA_SPECIALS = {
    "llada": ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    "dream": ("<|im_start|>",),
}
CHAT_TEMPLATES = {
    "llada": (
        "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n"
        "{{ m['content'] }}<|eot_id|>{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n{% endif %}"
    ),
    "dream": (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}


def build_tokenizer(
    family: str, merged_tokens: Sequence[str] = (), char_order_seed: int | None = None
) -> PreTrainedTokenizerFast:
    """A character-level tokenizer for `family` ("llada" | "dream") plus `merged_tokens`.

    `char_order_seed` shuffles the character ids so two tokenizers with the same characters still
    disagree on ids (as real vocabularies do); None keeps the natural order.
    """
    if family not in FAMILY_SPECIALS:
        raise ValueError(f"unknown tokenizer family {family!r}; known: {sorted(FAMILY_SPECIALS)}")
    for tok in merged_tokens:
        if len(tok) < 2 or any(c not in BASE_CHARS for c in tok):
            raise ValueError(f"merged token {tok!r} must be 2+ characters from {BASE_CHARS!r}")
    specials = FAMILY_SPECIALS[family]
    chars = list(dict.fromkeys(BASE_CHARS))
    if char_order_seed is not None:
        random.Random(char_order_seed).shuffle(chars)
    vocab = {specials["unk_token"]: 0}
    for c in chars:
        vocab[c] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=specials["unk_token"]))
    tok.decoder = decoders.Fuse()
    special_list = list(dict.fromkeys(v for k, v in specials.items() if k != "unk_token"))
    tok.add_special_tokens(special_list + list(FAMILY_EXTRA_SPECIALS[family]))
    plain = [*ROLE_TOKENS, *merged_tokens]
    tok.add_tokens([AddedToken(t, normalized=False, single_word=False) for t in plain])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=MAX_LENGTH,
        chat_template=CHAT_TEMPLATES[family],
        additional_special_tokens=list(FAMILY_EXTRA_SPECIALS[family]),
        **specials,
    )
    return fast


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: str | Path) -> None:
    tokenizer.save_pretrained(str(out_dir))
