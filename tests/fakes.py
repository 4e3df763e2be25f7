"""Test fakes shared by every test folder: a scripted MDLM backend, the tiny task, tiny members.

Why here and not in `src/`: nothing the package ships runs them (`tie-run`, `tie-bench` and the
experiments load real backends and registered tasks), so they live with the tests. `tests/` is on
`sys.path` because `tests/conftest.py` sits in it (pytest's default import mode); import them as
`from fakes import ...`.

* `ScriptedBackend` satisfies `tie.models.backend.MDLMBackend`; its logits come from any callable
  `(input_ids, attention_mask) -> [B, L, V]`, so the decoder, the TIE engine and the scorers are
  tested without weights, fast, with outputs we can predict. Two tokenizer variants with different
  vocabularies (and different special ids) support cross-tokenizer relay tests, and `pseudo_model`
  gives deterministic, context-dependent logits that are invariant to left padding (for
  batch/padding-invariance tests and reference-algorithm parity).
* `TinyTask`: the one minimal task of the engine tests (fixed canvas budget, exact-match grading).
* `tiny_backend`: tiny random-initialised LLaDA / Dream models of our classes over the scripted
  tokenizers (the real decoder and engine end to end, no zoo needed).
"""

from __future__ import annotations

import string
from collections.abc import Callable

import torch
from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from tie.models import DreamConfig, DreamModel, LLaDAConfig, LLaDAModelLM, TransformersBackend
from tie.models.backend import BackendInfo, check_span
from tie.tasks.base import CanvasBudget

LogitsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

CHARS = string.ascii_letters + string.digits + string.punctuation + " \n"
# Variant "b" merges a few common pieces, so the same text tokenises to a different length.
MERGES_B = [("t", "h"), ("th", "e"), ("i", "n"), ("A", "n"), ("An", "s"), ("Ans", "w")]


def make_tokenizer(variant: str = "a") -> PreTrainedTokenizerBase:
    """A char-level tokenizer built in memory (no files, no hub).

    Variant "a": ids `<pad>`=0 `<eos>`=1 `<eot>`=2 `<mask>`=3 `<unk>`=4, then single characters.
    Variant "b": characters first (reversed order) plus merged pieces, specials at the end, so no
    id means the same thing in both vocabularies.
    """
    specials = ["<pad>", "<eos>", "<eot>", "<mask>", "<unk>"]
    if variant == "a":
        pieces, merges = specials + list(CHARS), []
    elif variant == "b":
        merged = ["".join(m) for m in MERGES_B]
        pieces, merges = list(reversed(CHARS)) + merged + specials, MERGES_B
    else:
        raise ValueError(f"unknown tokenizer variant {variant!r}; use 'a' or 'b'")
    vocab = {p: i for i, p in enumerate(pieces)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        eos_token="<eos>",
        mask_token="<mask>",
        unk_token="<unk>",
        padding_side="left",
    )
    tok.add_special_tokens({"additional_special_tokens": ["<eot>"]})
    tok.chat_template = (
        "{% if messages[0]['role'] == 'system' %}[s]{{ messages[0]['content'] }}<eot>{% endif %}"
        "{% for m in messages %}{% if m['role'] != 'system' %}"
        "[{{ m['role'][0] }}]{{ m['content'] }}<eot>{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}[a]{% endif %}"
    )
    return tok


class ScriptedBackend:
    """An `MDLMBackend` whose logits come from `logits_fn`; counts forward passes.

    `calls` counts `logits()` calls and `rows_seen` the rows they carried (NFE checks).
    """

    def __init__(
        self,
        logits_fn: LogitsFn,
        tokenizer: PreTrainedTokenizerBase | None = None,
        name: str = "scripted",
        max_length: int = 512,
        eos_ids: tuple[int, ...] | None = None,
        mask_id: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.tokenizer = tokenizer if tokenizer is not None else make_tokenizer("a")
        self.mask_id = self.tokenizer.mask_token_id if mask_id is None else mask_id
        self.pad_id = self.tokenizer.pad_token_id
        if eos_ids is None:
            eot = self.tokenizer.convert_tokens_to_ids("<eot>")
            eos_ids = tuple(sorted({self.tokenizer.eos_token_id, eot, self.pad_id}))
        self.eos_ids = eos_ids
        self.max_length = max_length
        self.device = torch.device(device)
        self.dtype = torch.float32
        self.info = BackendInfo(
            name=name, family="scripted", shift=False, vocab_size=len(self.tokenizer)
        )
        self._fn = logits_fn
        self.calls = 0
        self.rows_seen = 0

    @property
    def vocab_size(self) -> int:
        return self.info.vocab_size

    def chat_prompt(self, user_message: str, system: str | None = None) -> list[int]:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user_message})
        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return self.tokenizer.encode(text, add_special_tokens=False)

    def logits(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        span: tuple[int, int] | None = None,
    ) -> torch.FloatTensor:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        self.calls += 1
        self.rows_seen += int(input_ids.shape[0])
        out = self._fn(input_ids, attention_mask)
        expected = (*input_ids.shape, self.vocab_size)
        if tuple(out.shape) != expected:
            raise ValueError(f"logits_fn returned shape {tuple(out.shape)}, expected {expected}")
        lo, hi = check_span(span, input_ids.shape[1])
        return out[:, lo:hi].float().to(self.device)


class SpanlessBackend:
    """A contract backend whose `logits` predates `span=` (the argument is optional): `inner`
    without it, everything else delegated."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def logits(self, input_ids, attention_mask=None):
        return self.inner.logits(input_ids, attention_mask)


def pseudo_model(
    vocab_size: int, seed: int = 0, dim: int = 16, never: tuple[int, ...] = ()
) -> LogitsFn:
    """Deterministic "model": seeded embeddings, one key-masked attention layer, a position term.

    The position of a token is its index among the row's attended tokens (like Dream's `tok_idx`),
    and pad keys get zero weight, so a left-padded row gives the same logits as the row alone
    (computed in float64, so batch shape changes only move float noise far below float32).
    `never` lists ids the model never predicts (e.g. the mask id, as trained MDLMs).
    """
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(vocab_size, dim, generator=g, dtype=torch.float64)
    wq, wk, wv = (
        torch.randn(dim, dim, generator=g, dtype=torch.float64) / dim**0.5 for _ in range(3)
    )
    pos = torch.randn(4096, dim, generator=g, dtype=torch.float64)
    head = torch.randn(dim, vocab_size, generator=g, dtype=torch.float64) * 1.5
    never_idx = torch.tensor(list(never), dtype=torch.long)

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        dev = input_ids.device
        keep = attention_mask.bool()
        p = (keep.long().cumsum(-1) - 1).clamp(min=0)
        h = emb.to(dev)[input_ids] + pos.to(dev)[p]
        scores = (h @ wq.to(dev)) @ (h @ wk.to(dev)).transpose(-1, -2) / dim**0.5
        scores = scores.masked_fill(~keep[:, None, :], float("-inf"))
        h = torch.tanh(h + torch.softmax(scores, -1) @ (h @ wv.to(dev)))
        out = h @ head.to(dev)
        if len(never_idx):
            out[..., never_idx.to(dev)] = -1e9
        return out.float()

    return fn


def table_logits(
    vocab_size: int, table: dict[int, int], default: int, peak: float = 5.0
) -> LogitsFn:
    """Logits that put `peak` on `table[position]` (else `default`) at every row and step."""

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        b, seq = input_ids.shape
        ids = torch.tensor([table.get(i, default) for i in range(seq)], dtype=torch.long)
        out = torch.zeros(b, seq, vocab_size)
        out[:, torch.arange(seq), ids] = peak
        return out

    return fn


def make_scripted_backend(
    variant: str = "a",
    logits_fn: LogitsFn | None = None,
    seed: int = 0,
    name: str | None = None,
    max_length: int = 512,
    device: str | torch.device = "cpu",
) -> ScriptedBackend:
    """A ready backend: tokenizer `variant` ("a" or "b"), pseudo-model logits unless given.

    Variants "a" and "b" have different vocabularies and special ids (cross-tokenizer tests).
    """
    tok = make_tokenizer(variant)
    if logits_fn is None:
        logits_fn = pseudo_model(len(tok), seed=seed, never=(tok.mask_token_id,))
    return ScriptedBackend(
        logits_fn,
        tokenizer=tok,
        name=name or f"scripted-{variant}",
        max_length=max_length,
        device=device,
    )


class TinyTask:
    """The tests' minimal task: answers graded against `row["gold"]` verbatim, prompts taken from
    `row["prompt"]`, a fixed canvas budget of `reasoning_len` + `answer_len` tokens."""

    def __init__(
        self,
        reasoning_len: int = 16,
        answer_len: int = 4,
        answer_suffix: str = "Answer:",
        name: str = "tiny",
    ) -> None:
        self.name = name
        self.answer_suffix = answer_suffix
        self.budget = CanvasBudget(reasoning_len, answer_len)

    def build_prompt(self, row: dict) -> str:
        return row["prompt"]

    def score(self, text: str, row: dict) -> tuple[str, bool]:
        return text, text == row["gold"]


def tiny_backend(family: str, variant: str, seed: int, name: str) -> TransformersBackend:
    """A one-layer, width-32 random `family` model ("llada" or "dream", seeded) behind the scripted
    tokenizer `variant` ("a" or "b"): our real backend class on weights that cost nothing."""
    torch.manual_seed(seed)
    if family == "llada":
        model = LLaDAModelLM(
            LLaDAConfig(
                d_model=32, n_heads=4, n_kv_heads=2, n_layers=1, mlp_hidden_size=64,
                vocab_size=128, max_sequence_length=512,
            )
        )  # fmt: skip
    else:
        model = DreamModel(
            DreamConfig(
                hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=1,
                intermediate_size=64, vocab_size=128, max_position_embeddings=512,
            )
        )  # fmt: skip
    return TransformersBackend(model.eval(), make_tokenizer(variant), family, name)
