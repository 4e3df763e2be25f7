"""`MDLMBackend` over a transformers model + tokenizer (our classes, or the authors' remote code).

Everything the decoder needs that differs between families lives here: where the mask id comes
from, which ids end a text, the chat template, the context limit, and the logit shift (Dream's raw
output at i-1 predicts token i; `logits()` realigns it so position i predicts token i).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tie.models.backend import BackendInfo, check_span, takes_argument
from tie.models.chat import encode_chat
from tie.models.dream import positions_from_mask
from tie.models.layers import KVCache

SHIFTED_FAMILIES = {"dream": True, "llada": False}
# Mask tokens of the published tokenizers that are not registered as the tokenizer's mask token.
KNOWN_MASK_TOKENS = ("<|mdm_mask|>", "<|mask|>", "[MASK]", "<mask>")
# Tokens that end a text or a turn, or pad, in the families we support.
END_TOKENS = (
    "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|im_end|>", "<|dlm_pad|>", "<|eos|>",
)  # fmt: skip
# Context limits documented by the authors where the config says more (Dream inherits 131072).
DOCUMENTED_MAX_LENGTH = {"llada": 4096, "dream": 2048}


def _token_id(tokenizer: PreTrainedTokenizerBase, token: str) -> int | None:
    """Id of `token` if it is a real entry of the vocabulary (not mapped to unk).

    One lookup, not `get_vocab()`: that builds the whole vocabulary dict (150k entries for the
    published tokenizers, over a second each time), and this runs for every end token at load.
    """
    found = tokenizer.convert_tokens_to_ids(token)
    if found is None or tokenizer.convert_ids_to_tokens(int(found)) != token:
        return None
    return int(found)


def resolve_mask_id(config_mask_id: int | None, tokenizer: PreTrainedTokenizerBase) -> int:
    """Mask id from the config, else the tokenizer's mask token, else a known mask string."""
    if config_mask_id is not None:
        return int(config_mask_id)
    if tokenizer.mask_token_id is not None:
        return int(tokenizer.mask_token_id)
    for tok in KNOWN_MASK_TOKENS:
        found = _token_id(tokenizer, tok)
        if found is not None:
            return int(found)
    raise ValueError(
        "tokenizer has no mask token (no mask_token, none of "
        f"{list(KNOWN_MASK_TOKENS)} in its vocabulary) and config.json has no mask_token_id"
    )


def resolve_eos_ids(
    tokenizer: PreTrainedTokenizerBase, config_ids: Iterable[int | None]
) -> tuple[int, ...]:
    """Every id meaning end of text / end of turn / pad (sorted, unique)."""
    ids = {tokenizer.eos_token_id, tokenizer.pad_token_id, *config_ids}
    ids |= {_token_id(tokenizer, tok) for tok in END_TOKENS}
    return tuple(sorted(int(i) for i in ids if i is not None))


def _as_list(value: int | list[int] | None) -> list[int | None]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _vocab_size(model: PreTrainedModel) -> int:
    """Rows of the input embedding; remote code may not expose it, then the config's vocab_size."""
    try:
        return int(model.get_input_embeddings().weight.shape[0])
    except (NotImplementedError, AttributeError):
        return int(model.config.vocab_size)


def default_dtype(device: torch.device) -> torch.dtype:
    """float32 on CPU, bfloat16 on accelerators (what the authors run)."""
    return torch.float32 if device.type == "cpu" else torch.bfloat16


class TransformersBackend:
    """An MDLM backend around a loaded transformers model.

    `remote=True` marks the authors' own code (`hf_remote`): Dream's remote code wants a pairwise
    [B, 1, L, L] mask and explicit position ids; LLaDA's takes the 2D mask like ours.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        family: str,
        name: str,
        remote: bool = False,
    ) -> None:
        if family not in SHIFTED_FAMILIES:
            raise ValueError(f"unknown model family {family!r}; known: {sorted(SHIFTED_FAMILIES)}")
        cfg = model.config
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.family = family
        self.remote = remote
        self._takes_keep = not remote and takes_argument(model.forward, "keep")
        # our classes keep keys/values for Fast-dLLM's caches (`decoding.cache`); remote code not
        self.supports_kv_cache = not remote and takes_argument(model.forward, "cache")
        self.mask_id = resolve_mask_id(getattr(cfg, "mask_token_id", None), tokenizer)
        self.eos_ids = resolve_eos_ids(
            tokenizer,
            [*_as_list(getattr(cfg, "eos_token_id", None)), getattr(cfg, "pad_token_id", None)],
        )
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else self.eos_ids[0])
        self.max_length = self._max_length(cfg)
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        vocab = _vocab_size(model)
        if not 0 <= self.mask_id < vocab:
            raise ValueError(
                f"mask id {self.mask_id} is outside the model vocabulary (size {vocab})"
            )
        self.info = BackendInfo(
            name=name,
            family=family,
            shift=SHIFTED_FAMILIES[family],
            vocab_size=vocab,
            extra={"backend": "hf_remote" if remote else "native"},
        )

    def _max_length(self, cfg) -> int:
        limits = [DOCUMENTED_MAX_LENGTH[self.family]]
        for key in ("max_sequence_length", "max_position_embeddings"):
            if getattr(cfg, key, None):
                limits.append(int(getattr(cfg, key)))
        return min(limits)

    def chat_prompt(self, user_message: str, system: str | None = None) -> list[int]:
        """Prompt ids with the family chat template (generation prompt on, BOS from the template)."""
        return encode_chat(self.tokenizer, self.family, user_message, system)

    def _check_inputs(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> torch.Tensor | None:
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [B, L], got shape {tuple(input_ids.shape)}")
        if input_ids.shape[1] > self.max_length:
            raise ValueError(
                f"sequence length {input_ids.shape[1]} exceeds max_length {self.max_length} "
                f"of {self.info.name}"
            )
        if attention_mask is not None and attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask shape {tuple(attention_mask.shape)} != input_ids shape "
                f"{tuple(input_ids.shape)}"
            )
        # Every value check in one host read: a single device sync per forward on accelerators
        # (it was three: min, max, all).
        values = list(torch.aminmax(input_ids)) if input_ids.numel() else []
        if attention_mask is not None:
            values.append(attention_mask.to(torch.bool).all().to(input_ids.device))
        if not values:
            return attention_mask
        read = torch.stack([v.to(torch.long) for v in values]).tolist()
        if input_ids.numel() and (read[0] < 0 or read[1] >= self.info.vocab_size):
            raise ValueError(
                f"input_ids outside the vocabulary [0, {self.info.vocab_size}) "
                f"(min {read[0]}, max {read[1]})"
            )
        if attention_mask is not None and read[-1]:
            return None  # nothing masked: let the model take its unmasked path
        return attention_mask

    def _raw(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor | None,
        keep: slice | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Raw logits; `keep` (raw positions) lets our classes run the head only there. Models
        without that argument (the authors' remote code) compute every position, sliced here.
        `cache`: also record every layer's keys/values there (our classes only)."""
        if cache is not None:
            self._require_kv_cache()
            return self.model(ids, attention_mask=mask, keep=keep, cache=cache).logits
        if keep is not None and self._takes_keep:
            return self.model(ids, attention_mask=mask, keep=keep).logits
        full = (
            self._raw_remote(ids, mask)
            if self.remote
            else self.model(ids, attention_mask=mask).logits
        )
        return full if keep is None else full[:, keep]

    def _raw_remote(self, ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.family == "dream":
            if mask is None:
                return self.model(ids).logits
            keep = mask.to(torch.bool)
            pairwise = (keep[:, None, :, None] & keep[:, None, None, :]) | torch.eye(
                ids.shape[1], dtype=torch.bool, device=ids.device
            )  # the diagonal keeps pad query rows non-empty (no NaN)
            return self.model(
                ids, attention_mask=pairwise, position_ids=positions_from_mask(mask)
            ).logits
        return self.model(ids, attention_mask=mask).logits

    def _require_kv_cache(self) -> None:
        if not self.supports_kv_cache:
            raise ValueError(
                f"{self.info.name}: this model keeps no KV cache (the authors' remote code); "
                "decoding.cache=prefix|dual needs our LLaDA / Dream classes (backend native)"
            )

    @torch.inference_mode()
    def logits(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        span: tuple[int, int] | None = None,
        cache: KVCache | None = None,
    ) -> torch.FloatTensor:
        """Float32 logits [B, L, V]; position i predicts token i for every family.

        `span=(lo, hi)` returns only positions lo..hi-1 ([B, hi - lo, V]): the head and the
        float32 copy then cover the decoder's window instead of the whole canvas. `cache` (an
        empty `KVCache`): the same logits, and every layer's keys/values are recorded there for
        `cached_logits`."""
        mask = self._check_inputs(input_ids, attention_mask)
        lo, hi = check_span(span, input_ids.shape[1])
        ids = input_ids.to(self.device)
        mask = None if mask is None else mask.to(self.device)
        if not self.info.shift:
            return self._raw(ids, mask, None if span is None else slice(lo, hi), cache).float()
        # raw output i-1 predicts token i; aligned position 0 gets a dummy (raw output 0)
        if span is None or lo == 0:  # raw 0 serves twice: dummy at 0, then token 1
            keep = None if span is None else slice(0, max(hi - 1, 1))
            out = self._raw(ids, mask, keep, cache).float()
            return torch.cat([out[:, :1], out[:, : hi - 1]], dim=1)
        return self._raw(ids, mask, slice(lo - 1, hi - 1), cache).float()

    @torch.inference_mode()
    def cached_logits(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None,
        want: torch.Tensor,
        cache: KVCache,
        fresh: torch.Tensor,
    ) -> torch.FloatTensor:
        """Float32 logits [B, P] -> [B, P, V] at the aligned positions `want`, reusing `cache`.

        `fresh` [B, L] bool: the canvas positions whose keys/values are recomputed (the block
        being decoded, and with a prefix cache everything after it); the model also computes the
        positions that predict `want` (for a shifted family, i - 1), and every other position
        attends through the keys/values `cache` recorded (from the same rows' canvases)."""
        if want.dim() != 2 or fresh.shape != input_ids.shape:
            raise ValueError(
                f"cached_logits: want must be [B, P] and fresh {tuple(input_ids.shape)}, got "
                f"{tuple(want.shape)} and {tuple(fresh.shape)}"
            )
        self._require_kv_cache()
        mask = self._check_inputs(input_ids, attention_mask)
        ids = input_ids.to(self.device)
        mask = None if mask is None else mask.to(self.device)
        raw = (want.to(self.device) - int(self.info.shift)).clamp(min=0)
        recompute = fresh.to(self.device, torch.bool).clone()
        recompute.scatter_(1, raw, True)
        positions = padded_positions(recompute)
        keep = torch.searchsorted(positions, raw)
        return self.model(
            ids, attention_mask=mask, keep=keep, cache=cache, positions=positions
        ).logits.float()


def padded_positions(select: torch.Tensor) -> torch.Tensor:
    """[B, L] bool -> [B, W] the selected positions of each row, ascending, W the largest count;
    a shorter row repeats its last position (computed twice, written once: same values)."""
    counts = select.sum(1)
    if bool((counts == 0).any()):
        raise ValueError("every row needs at least one position to compute")
    width = int(counts.max())
    order = torch.sort(select.to(torch.uint8), dim=1, descending=True, stable=True).indices
    order = order[:, :width]
    last = order.gather(1, (counts - 1)[:, None])
    slot = torch.arange(width, device=select.device)[None]
    return torch.where(slot < counts[:, None], order, last)
