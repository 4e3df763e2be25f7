"""The canvas layout and how a batch of prompts becomes a decoding state.

Canvas of one model: `prompt (left-padded to P) | reasoning (R masks) | suffix (S fixed tokens) |
answer (A masks)`; the plain LLaDA layout is R = gen_length, S = A = 0.

Region lengths of a task (`canvas_regions`): the real benchmarks give the paper's generation
length G (128 / 256 / 512, a multiple of the block), so R = G - S - A for the model's own S suffix
tokens and the blocks tile G exactly under strict rounding; the testbed gives a fixed R, which
strict rounding grows to the next block multiple of R + S + A (ceil rounding keeps it as is).

Blocks and the suffix: semi-autoregressive blocks of `block_length` tile the whole generation
region R + S + A, starting at P. With `rounding="strict"` R + S + A must be a multiple of the block
length (and `steps` a multiple of the number of blocks); `rounding="ceil"` allows a shorter last
block. Suffix positions are fixed tokens, never masks, so they take no quota; a block's quota is
computed from the masks it holds. Answer positions become candidates only once the row has no
masked reasoning position (never in the same step as the last reasoning commit). Quota a step
could not use because of that rule carries over to the next step; if a block still holds masks
after its steps it keeps stepping, each extra step flushing what is left (only possible in the
block straddling the suffix, and only when the quota runs out before its reasoning does).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tie.decoding.config import DecodeInputError
from tie.decoding.state import DecodeState


@dataclass(frozen=True)
class CanvasLayout:
    """Spans of one canvas (same for every row of a batch: prompts are left-padded to P)."""

    prompt_len: int
    reasoning_len: int
    suffix_ids: tuple[int, ...] = ()
    answer_len: int = 0

    @classmethod
    def plain(cls, prompt_len: int, gen_length: int) -> CanvasLayout:
        return cls(prompt_len, gen_length, (), 0)

    @property
    def suffix_len(self) -> int:
        return len(self.suffix_ids)

    @property
    def gen_start(self) -> int:
        return self.prompt_len

    @property
    def gen_len(self) -> int:
        return self.reasoning_len + self.suffix_len + self.answer_len

    @property
    def total_len(self) -> int:
        return self.prompt_len + self.gen_len

    @property
    def generation(self) -> tuple[int, int]:
        """Reasoning, suffix and answer: the span the blocks tile."""
        return self.gen_start, self.gen_start + self.gen_len

    @property
    def reasoning(self) -> tuple[int, int]:
        return self.prompt_len, self.prompt_len + self.reasoning_len

    @property
    def suffix(self) -> tuple[int, int]:
        s = self.prompt_len + self.reasoning_len
        return s, s + self.suffix_len

    @property
    def answer(self) -> tuple[int, int]:
        s = self.prompt_len + self.reasoning_len + self.suffix_len
        return s, s + self.answer_len


def require_mask_id(backend) -> int:
    """The backend's mask id, or a clear error (also rejects pad == mask)."""
    mask_id = getattr(backend, "mask_id", None)
    if mask_id is None:
        raise DecodeInputError(
            f"backend {_name(backend)} has no mask token id: its tokenizer defines no mask token"
        )
    if getattr(backend, "pad_id", None) == mask_id:
        raise DecodeInputError(f"backend {_name(backend)}: pad id equals the mask id {mask_id}")
    return int(mask_id)


def encode_suffix(backend, suffix_text: str | None) -> tuple[int, ...]:
    """Suffix token ids (no special tokens); None means no suffix; empty after encoding is an error."""
    if suffix_text is None:
        return ()
    ids = tuple(backend.tokenizer.encode(suffix_text, add_special_tokens=False))
    if not ids:
        raise DecodeInputError(f"answer suffix {suffix_text!r} is empty after tokenisation")
    return ids


def check_lengths(backend, layout: CanvasLayout, prompt_lens: list[int]) -> None:
    """Prompts and the whole canvas must fit the model's context."""
    max_len = int(backend.max_length)
    for row, n in enumerate(prompt_lens):
        if n > max_len:
            raise DecodeInputError(
                f"prompt of row {row} has {n} tokens, longer than the context of "
                f"{_name(backend)} (max_length {max_len})"
            )
    if layout.total_len > max_len:
        raise DecodeInputError(
            f"canvas of {layout.total_len} tokens (prompt {layout.prompt_len} + generation "
            f"{layout.gen_len}) exceeds the context of {_name(backend)} (max_length {max_len})"
        )
    if layout.reasoning_len < 0 or layout.answer_len < 0:
        raise DecodeInputError("reasoning_len and answer_len must be >= 0")
    if layout.reasoning_len + layout.answer_len < 1:
        raise DecodeInputError("the canvas has no masked position (reasoning_len + answer_len = 0)")


def assemble(
    prompt: torch.Tensor, prompt_mask: torch.Tensor, layout: CanvasLayout, mask_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`[B, P]` left-padded prompts -> canvas `[B, L]` and attention mask (ones after P)."""
    b = prompt.shape[0]
    gen = torch.full((b, layout.gen_len), mask_id, dtype=torch.long, device=prompt.device)
    s0, s1 = layout.suffix
    if layout.suffix_len:
        p = layout.prompt_len
        gen[:, s0 - p : s1 - p] = torch.tensor(layout.suffix_ids, device=prompt.device)
    x = torch.cat([prompt.long(), gen], dim=1)
    am = torch.cat([prompt_mask.long(), torch.ones_like(gen)], dim=1)
    return x, am


def canvas_regions(budget, suffix_len: int, config) -> tuple[int, int]:
    """(reasoning_len, answer_len) of a task budget (`tie.tasks.CanvasBudget`) for a model whose
    answer suffix has `suffix_len` tokens, under `config`'s block length and rounding."""
    # a config without rounding (a test's stand-in) lays the budget out as given
    strict = getattr(config, "rounding", None) == "strict"
    block = int(getattr(config, "block_length", 1))
    if not hasattr(budget, "regions"):  # a bare (reasoning_len, answer_len) budget: fixed R
        reasoning, answer = int(budget.reasoning_len), int(budget.answer_len)
        grow = -(reasoning + suffix_len + answer) % block if strict else 0
        return reasoning + grow, answer
    try:
        return budget.regions(suffix_len, block, strict)
    except ValueError as err:
        raise DecodeInputError(str(err)) from err


def needs_suffix_len(budget, config) -> bool:
    """Whether `canvas_regions` depends on the suffix's token count (else any count will do)."""
    return getattr(budget, "gen_length", None) is not None or (
        getattr(config, "rounding", None) == "strict"
    )


def task_regions(backend, task, config) -> tuple[int, int]:
    """`canvas_regions` of `task` for `backend`'s tokenizer (encoded only when it matters)."""
    n = (
        len(encode_suffix(backend, task.answer_suffix))
        if needs_suffix_len(task.budget, config)
        else 0
    )
    return canvas_regions(task.budget, n, config)


def task_canvas(backend, prompt_ids: list[list[int]], task, config):
    """`build_canvas` with the task's suffix and the region lengths `canvas_regions` gives."""
    reasoning, answer = task_regions(backend, task, config)
    return build_canvas(backend, prompt_ids, reasoning, task.answer_suffix, answer)


def build_canvas(
    backend,
    prompt_ids: list[list[int]],
    reasoning_len: int,
    suffix_text: str | None = None,
    answer_len: int = 0,
) -> DecodeState:
    """Left-pad prompts, add `reasoning_len` masks, the fixed suffix, `answer_len` masks.

    Returns a fresh `DecodeState` on the backend's device. `suffix_text=None` means no suffix.
    """
    mask_id = require_mask_id(backend)
    if not prompt_ids or not all(isinstance(p, (list, tuple)) and p for p in prompt_ids):
        raise DecodeInputError("prompt_ids must be a non-empty list of non-empty token id lists")
    for row, p in enumerate(prompt_ids):
        if mask_id in p:
            raise DecodeInputError(f"prompt of row {row} contains the mask id {mask_id}")
    suffix = encode_suffix(backend, suffix_text)
    lens = [len(p) for p in prompt_ids]
    layout = CanvasLayout(max(lens), int(reasoning_len), suffix, int(answer_len))
    check_lengths(backend, layout, lens)
    pad = int(backend.pad_id)
    prompt = torch.full((len(lens), layout.prompt_len), pad, dtype=torch.long)
    pmask = torch.zeros_like(prompt)
    for row, p in enumerate(prompt_ids):
        prompt[row, layout.prompt_len - len(p) :] = torch.tensor(p, dtype=torch.long)
        pmask[row, layout.prompt_len - len(p) :] = 1
    x, am = assemble(prompt.to(backend.device), pmask.to(backend.device), layout, mask_id)
    return DecodeState.fresh(x, am, layout, mask_id)


def _name(backend) -> str:
    info = getattr(backend, "info", None)
    return repr(getattr(info, "name", type(backend).__name__))
