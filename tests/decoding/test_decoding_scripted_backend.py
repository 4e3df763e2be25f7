"""The scripted fake backend: protocol, two vocabularies, padding-invariant pseudo-model."""

import torch
from fakes import ScriptedBackend, make_scripted_backend, make_tokenizer, table_logits

from tie.models.backend import MDLMBackend


def test_satisfies_backend_protocol_and_counts_calls():
    be = make_scripted_backend("a")
    assert isinstance(be, MDLMBackend)
    ids = torch.tensor([be.chat_prompt("hi")])
    out = be.logits(ids)
    assert out.shape == (1, ids.shape[1], be.vocab_size) and out.dtype == torch.float32
    assert be.calls == 1 and be.rows_seen == 1
    assert be.mask_id == be.tokenizer.mask_token_id
    assert be.pad_id in be.eos_ids and be.tokenizer.eos_token_id in be.eos_ids


def test_variants_have_different_vocabularies():
    a, b = make_tokenizer("a"), make_tokenizer("b")
    text = "the answer is 42"
    assert a.decode(a.encode(text, add_special_tokens=False)) == text
    assert b.decode(b.encode(text, add_special_tokens=False)) == text
    assert len(b.encode(text, add_special_tokens=False)) < len(
        a.encode(text, add_special_tokens=False)
    )
    assert a.mask_token_id != b.mask_token_id and a.get_vocab() != b.get_vocab()


def test_chat_prompt_renders_template():
    be = make_scripted_backend("a")
    text = be.tokenizer.decode(be.chat_prompt("hello", system="be brief"))
    assert text == "[s]be brief<eot>[u]hello<eot>[a]"


def test_pseudo_model_is_left_padding_invariant_and_never_predicts_mask():
    be = make_scripted_backend("a", seed=3)
    x = torch.tensor([[7, 8, 9, 3, 3, 3]])
    alone = be.logits(x, torch.ones_like(x))
    padded = torch.cat([torch.zeros(1, 4, dtype=torch.long), x], 1)
    am = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 1, 1]])
    assert torch.equal(be.logits(padded, am)[:, 4:], alone)
    assert (alone.argmax(-1) != be.mask_id).all()
    # context matters: changing one token changes the other positions' logits
    y = x.clone()
    y[0, 0] = 10
    assert not torch.allclose(be.logits(y, torch.ones_like(y))[0, 3], alone[0, 3])


def test_table_logits_and_shape_check():
    be = ScriptedBackend(table_logits(101, {2: 7}, default=9))
    out = be.logits(torch.zeros(2, 4, dtype=torch.long))
    assert out.argmax(-1).tolist() == [[9, 9, 7, 9]] * 2
    bad = ScriptedBackend(lambda i, m: torch.zeros(1, 1, 5))
    try:
        bad.logits(torch.zeros(1, 3, dtype=torch.long))
    except ValueError as e:
        assert "expected" in str(e)
    else:
        raise AssertionError("shape mismatch not reported")
