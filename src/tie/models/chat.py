"""Chat templates: the tokenizer's own, or the family's published style when it has none.

LLaDA-8B-Instruct uses a Llama-3 style template that emits `<|startoftext|>` itself; Dream uses
Qwen2.5's ChatML with a default system message. Both are rendered to text and encoded without
adding special tokens so BOS is never doubled.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

FALLBACK_TEMPLATES = {
    "llada": (
        "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>"
        "\n\n{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
    ),
    "dream": (
        "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
        "<|im_end|>\n{% endif %}{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
        "{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
}


def render_chat(
    tokenizer: PreTrainedTokenizerBase, family: str, user_message: str, system: str | None = None
) -> str:
    """The prompt text for one user turn, generation prompt on."""
    messages = [{"role": "user", "content": user_message}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    template = tokenizer.chat_template or FALLBACK_TEMPLATES.get(family)
    if template is None:
        raise ValueError(f"tokenizer has no chat_template and family {family!r} has no fallback")
    return tokenizer.apply_chat_template(
        messages, chat_template=template, add_generation_prompt=True, tokenize=False
    )


def encode_chat(
    tokenizer: PreTrainedTokenizerBase, family: str, user_message: str, system: str | None = None
) -> list[int]:
    text = render_chat(tokenizer, family, user_message, system)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])
