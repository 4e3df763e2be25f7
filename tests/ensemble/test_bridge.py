"""Cross-tokenizer relay through text (TIE_SPEC section 4) with two different char tokenizers."""

from types import SimpleNamespace

import pytest
import torch
from fakes import make_scripted_backend

from tie.ensemble import EnsembleOptions
from tie.ensemble.bridge import (
    committed_text,
    fill_eos_id,
    same_tokenizer,
    translate_region,
    translate_rows,
)


def _enc(backend, text):
    return backend.tokenizer.encode(text, add_special_tokens=False)


def test_same_tokenizer_detection():
    a1, a2 = make_scripted_backend("a", seed=0), make_scripted_backend("a", seed=1)
    b = make_scripted_backend("b")
    assert same_tokenizer(a1, a2)
    assert not same_tokenizer(a1, b)


def test_committed_prefix_gap_and_eos_closure():
    a = make_scripted_backend("a")
    m, eos = a.mask_id, a.tokenizer.eos_token_id
    ids = _enc(a, "the ") + [m, m] + _enc(a, "x")  # 'x' after the first gap is dropped
    text, closed, dropped = committed_text(ids, a.tokenizer, m, a.eos_ids)
    assert (text, closed, dropped) == ("the ", False, 1)
    ids = _enc(a, "ok") + [eos, eos, m]
    assert committed_text(ids, a.tokenizer, m, a.eos_ids) == ("ok", True, 0)
    # a fully committed region is closed too
    assert committed_text(_enc(a, "abc"), a.tokenizer, m, a.eos_ids)[1]


def test_translate_region_between_different_vocabularies():
    a, b = make_scripted_backend("a"), make_scripted_backend("b")
    src = _enc(a, "the cat") + [a.mask_id] * 3
    new, stats = translate_region(src, a, 10, b)
    # variant b merges "the" into one token: 5 target tokens ("the", " ", "c", "a", "t")
    assert b.tokenizer.decode(new[:5]) == "the cat"
    assert new[5:] == [b.mask_id] * 5
    assert stats.tokens_dropped == 0 and stats.tokens_truncated == 0
    assert not stats.roundtrip_mismatch
    closed = _enc(a, "in") + [a.tokenizer.eos_token_id] * 2
    new, _ = translate_region(closed, a, 4, b)
    assert new[1:] == [fill_eos_id(b)] * 3  # "in" is one b token; region closed with b's EOS


def test_translate_region_truncates_and_logs_mismatch():
    a, b = make_scripted_backend("a"), make_scripted_backend("b")
    new, stats = translate_region(_enc(b, "abcdef") + [b.mask_id], b, 4, a)
    assert a.tokenizer.decode(new) == "abcd"
    assert stats.tokens_truncated == 2 and stats.roundtrip_mismatch


def test_translate_rows_places_regions_after_target_prompt():
    a, b = make_scripted_backend("a"), make_scripted_backend("b")
    la = SimpleNamespace(prompt_len=3, reasoning_len=6, suffix_ids=[9, 9], answer_len=3)
    lb = SimpleNamespace(prompt_len=2, reasoning_len=5, suffix_ids=[7], answer_len=4)
    ma, mb = a.mask_id, b.mask_id
    xa = torch.tensor(
        [
            [
                10,
                11,
                12,
                *_enc(a, "the"),
                ma,
                ma,
                ma,
                9,
                9,
                *_enc(a, "7"),
                a.tokenizer.eos_token_id,
                ma,
            ]
        ]
    )
    template = torch.tensor([[20, 21] + [mb] * 5 + [7] + [mb] * 4])
    out, stats = translate_rows(xa, a, la, template, b, lb)
    row = out[0].tolist()
    assert row[:2] == [20, 21] and row[7] == 7  # target prompt and suffix untouched
    assert b.tokenizer.decode(row[2:3]) == "the" and row[3:7] == [mb] * 4
    assert b.tokenizer.decode(row[8:9]) == "7" and row[9:] == [fill_eos_id(b)] * 3
    assert stats[0].tokens_dropped == 0 and not stats[0].roundtrip_mismatch


def test_offsets_rule_keeps_committed_runs_after_gaps():
    a, b = make_scripted_backend("a"), make_scripted_backend("b")
    m = a.mask_id
    src = _enc(a, "ab") + [m, m] + _enc(a, "cd") + [m] + _enc(a, "e") + [m, m]
    dropped_new, dropped = translate_region(src, a, 10, b)  # default rule: the prefix only
    assert dropped_new[:2] == _enc(b, "ab") and set(dropped_new[2:]) == {b.mask_id}
    assert dropped.tokens_dropped == 3
    new, stats = translate_region(src, a, 10, b, gaps="offsets")
    mb = b.mask_id
    assert new == _enc(b, "ab") + [mb, mb] + _enc(b, "cd") + [mb] + _enc(b, "e") + [mb, mb]
    assert (stats.tokens_dropped, stats.tokens_truncated, stats.roundtrip_mismatch) == (0, 0, False)
    back, _ = translate_region(new, b, 10, a, gaps="offsets")  # one char per token: exact
    assert back == src
    # an EOS inside a later run closes the region there; what follows it is dropped
    eos = a.tokenizer.eos_token_id
    src = _enc(a, "ab") + [m] + _enc(a, "c") + [eos] + _enc(a, "x") + [m]
    new, stats = translate_region(src, a, 8, b, gaps="offsets")
    assert new == _enc(b, "ab") + [mb] + _enc(b, "c") + [fill_eos_id(b)] * 4
    assert stats.tokens_dropped == 1
    # a merged target piece shifts later runs left; the region is still filled to its length
    src = _enc(a, "the") + [m] + _enc(a, "z") + [m] * 3
    new, _ = translate_region(src, a, 8, b, gaps="offsets")
    assert new == _enc(b, "the") + [mb] + _enc(b, "z") + [mb] * 5 and len(_enc(b, "the")) == 1


def test_unknown_gap_rule_is_named():
    a, b = make_scripted_backend("a"), make_scripted_backend("b")
    with pytest.raises(ValueError, match="bridge gap rule 'nope'"):
        translate_region(_enc(a, "ab"), a, 4, b, gaps="nope")
    with pytest.raises(ValueError, match="bridge_gaps"):
        EnsembleOptions(bridge_gaps="nope")


def test_chars_rule_sizes_gaps_by_the_token_ratio_of_the_committed_text():
    a, b = make_scripted_backend("a"), make_scripted_backend("b")
    m, mb = a.mask_id, b.mask_id
    # variant b spells "the" as one token, a as three: on "the the" b needs 3 tokens, a 7
    assert len(_enc(b, "the the")) == 3 and len(_enc(a, "the the")) == 7
    src = _enc(a, "the the") + [m] * 7 + _enc(a, "x") + [m] * 3
    offsets, _ = translate_region(src, a, 16, b, gaps="offsets")
    chars, stats = translate_region(src, a, 16, b, gaps="chars")
    # committed text: 8 a-tokens, 4 b-tokens: the 7-mask gap becomes round(7 * 4 / 8) = 4 masks
    assert offsets == _enc(b, "the the") + [mb] * 7 + _enc(b, "x") + [mb] * 5
    assert chars == _enc(b, "the the") + [mb] * 4 + _enc(b, "x") + [mb] * 8
    assert (stats.tokens_dropped, stats.tokens_truncated, stats.roundtrip_mismatch) == (0, 0, False)
    # one character per token on both sides around the gap: the same as "offsets"
    src = _enc(a, "ab") + [m, m] + _enc(a, "cd") + [m]
    assert translate_region(src, a, 8, b, gaps="chars") == translate_region(
        src, a, 8, b, gaps="offsets"
    )
    # a single masked source slot never vanishes, however short the target spelling
    src = _enc(a, "the") + [m] + _enc(a, "z") + [m]
    assert translate_region(src, a, 6, b, gaps="chars")[0][1] == mb
