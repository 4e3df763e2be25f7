"""Zoo training pieces: tokenizers, canvas encoding, beliefs, the MDLM loss and a short run."""

from __future__ import annotations

import random

import pytest
import torch
from transformers import AutoTokenizer

from tie.tasks.synth_math import ANSWER_LEN, REASONING_LEN, problem_key
from tie.tasks.synth_world import get_world, split_of
from tie.training.data import CanvasEncoder, DataSpec, ExampleSource
from tie.training.knowledge import KnowledgeSpec, build_beliefs
from tie.training.module import OptimSpec, lr_factor, mdlm_loss, sample_masks
from tie.training.pipeline import build_parts, check_member
from tie.training.tokenizers import build_tokenizer

BUDGETS = {"synth_math": (REASONING_LEN, ANSWER_LEN)}
TEXT = "e123+e456=e123=07;e456=12;07+12=19;Answer:19\n(3+5)*4>32"


@pytest.mark.parametrize(
    ("family", "merged", "seed"), [("llada", (), None), ("dream", ("Answer:",), 7)]
)
def test_tokenizer_round_trip_save_load_and_template(tmp_path, family, merged, seed):
    tok = build_tokenizer(family, merged, seed)
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == TEXT
    assert tok.unk_token_id not in ids
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded(TEXT, add_special_tokens=False)["input_ids"] == ids
    assert loaded.mask_token is not None and loaded.eos_token is not None
    assert loaded.pad_token is not None
    prompt = loaded.apply_chat_template(
        [{"role": "user", "content": "e1+e2="}], add_generation_prompt=True, tokenize=False
    )
    marker = "<|start_header_id|>assistant" if family == "llada" else "<|im_start|>assistant"
    assert prompt.endswith(marker + ("<|end_header_id|>\n" if family == "llada" else "\n"))
    assert len(loaded(prompt, add_special_tokens=False)["input_ids"]) <= 20  # short template


def test_member_vocabularies_really_differ():
    a, b = build_tokenizer("llada"), build_tokenizer("dream", ("Answer:",), 7)
    assert a.get_vocab() != b.get_vocab()
    assert len(b("Answer:", add_special_tokens=False)["input_ids"]) == 1
    assert len(a("Answer:", add_special_tokens=False)["input_ids"]) == 7
    assert (
        a("e123", add_special_tokens=False)["input_ids"]
        != b("e123", add_special_tokens=False)["input_ids"]
    )
    with pytest.raises(ValueError, match="family"):
        build_tokenizer("gpt")
    with pytest.raises(ValueError, match="merged token"):
        build_tokenizer("llada", ("x?",))


def test_canvas_layout_masks_only_reasoning_and_answer():
    tok = build_tokenizer("dream", ("Answer:",), 7)
    enc = CanvasEncoder(tok, "dream", BUDGETS)
    batch = enc.encode(
        [
            ("synth_math", "e123+e456+e789=", "e123=07;", "07"),
            ("synth_math", "e123+e456=", "e123=07;e456=12;07+12=19;", "19"),
        ]
    )
    ids, attn, gen = batch["input_ids"], batch["attention_mask"], batch["gen_mask"]
    assert gen.sum(1).tolist() == [REASONING_LEN + ANSWER_LEN] * 2
    assert (attn[0] == 1).all() and (attn[1] == 0).sum() == 5  # shorter prompt is left padded
    row = tok.decode(ids[1][attn[1].bool()])
    assert row.endswith("e123=07;e456=12;07+12=19;" + "<|im_end|>" * 23 + "Answer:19")
    suffix_pos = ids.shape[1] - ANSWER_LEN - 1
    assert ids[0, suffix_pos] == tok.convert_tokens_to_ids("Answer:") and not gen[0, suffix_pos]
    with pytest.raises(ValueError, match="budget"):
        enc.encode([("synth_math", "e1=", "x" * 60, "1")])


def test_beliefs_kinds_and_disjoint_wrong_facts():
    world = get_world()
    beliefs = [build_beliefs(KnowledgeSpec(groups=(g,), slot=g, seed=g)) for g in range(3)]
    wrong = [{e for e, k in enumerate(b.kind) if k == "wrong"} for b in beliefs]
    assert all(len(w) == 1 for w in wrong) and not (wrong[0] & wrong[1] | wrong[1] & wrong[2])
    b0 = beliefs[0]
    assert all(b0.value[e] != world.values[e] for e in wrong[0])
    assert {b0.kind[e] for e in world.private(1)} == {"unknown"}
    assert {b0.kind[e] for e in world.private(0)} == {"known", "noisy"}
    rng = random.Random(0)
    unknown = world.private(2)[0]
    assert len({b0.sample(unknown, rng) for _ in range(200)}) > 10  # calibrated ignorance
    known = next(e for e in world.common() if b0.kind[e] == "known")
    assert {b0.sample(known, rng) for _ in range(50)} == {world.values[known]}
    with pytest.raises(ValueError, match="groups"):
        KnowledgeSpec(groups=(5,))


def test_training_examples_never_come_from_eval_splits():
    src = ExampleSource(build_beliefs(KnowledgeSpec(groups=(0,))), DataSpec(countdown_frac=0.2))
    rng = random.Random(1)
    for _ in range(2000):
        task, message, reasoning, answer = src.sample(rng)
        if task == "synth_math":
            assert split_of(problem_key(message.rstrip("=").split("+"))) == "train"
            assert len(reasoning) <= REASONING_LEN and len(answer) == ANSWER_LEN


def test_mdlm_loss_weights_masked_positions_by_inverse_t():
    logits = torch.zeros(2, 3, 4)
    targets = torch.zeros(2, 3, dtype=torch.long)
    masked = torch.tensor([[True, False, False], [True, True, False]])
    t = torch.tensor([0.5, 1.0])
    ce = torch.log(torch.tensor(4.0))
    expected = (ce / 0.5 + 2 * ce) / 6
    assert torch.isclose(mdlm_loss(logits, targets, masked, t, 6), expected)
    assert lr_factor(0.0, 0, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(1.0, 100, 10, 0.1) == pytest.approx(0.1)
    assert lr_factor(0.0, 50, 10, 0.1) == pytest.approx(1.0)


def micro_member(family: str = "llada", steps: int = 60) -> dict:
    arch = (
        {"d_model": 32, "n_heads": 2, "n_layers": 1, "mlp_hidden_size": 64}
        if family == "llada"
        else {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        }
    )
    return {
        "name": "micro",
        "family": family,
        "seed": 0,
        "arch": arch,
        "tokenizer": {"merged_tokens": [], "char_order_seed": None},
        "knowledge": {"groups": [0]},
        "data": {"batch_size": 16},
        "optim": {"lr": 3e-3, "warmup_steps": 5, "max_steps": steps, "max_minutes": 5},
    }


def test_prefix_masks_look_like_a_semi_autoregressive_canvas():
    torch.manual_seed(0)
    gen = torch.zeros(64, 24, dtype=torch.bool)
    gen[:, 4:14] = True  # reasoning
    gen[:, 19:24] = True  # answer (the suffix 14:19 is never generated)
    masked, t = sample_masks(gen, OptimSpec(prefix_frac=1.0, prefix_block=3))
    assert not (masked & ~gen).any()
    order = gen.long().cumsum(1) - 1
    for row, m in enumerate(masked):
        idx = order[row][m]
        if len(idx) == 0:
            continue
        # every generated position after the last unmasked one is masked; the unmasked holes
        # among the masked ones lie within prefix_block of the cut
        last_visible = order[row][gen[row] & ~m].max() if (gen[row] & ~m).any() else -1
        assert m[gen[row] & (order[row] > last_visible)].all()
        holes = order[row][gen[row] & ~m & (order[row] >= idx.min())]
        assert len(holes) == 0 or int(holes.max() - idx.min()) < 3
        assert t[row] == pytest.approx(max(int(m.sum()) / 15, 0.05))
    # a cut is uniform over the 15 generated positions: most fall in the reasoning, and those
    # rows show a written trace prefix with the whole answer masked
    assert masked[:, 19:].all(1).float().mean() > 0.5
    iid, _ = sample_masks(gen, OptimSpec(prefix_frac=0.0))
    assert iid[:, 4:14].float().mean() > 0.3  # i.i.d. rows: masks spread over the reasoning
    with pytest.raises(ValueError, match="prefix_frac"):
        OptimSpec(prefix_frac=1.5)


def test_bad_member_config_fails_before_compute():
    bad = micro_member()
    del bad["optim"]
    with pytest.raises(ValueError, match="optim"):
        check_member(bad)
    with pytest.raises(ValueError, match="unknown keys"):
        check_member({**micro_member(), "extra": 1})
    with pytest.raises(ValueError, match="max_steps"):
        OptimSpec(max_steps=0)


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_short_training_run_lowers_the_loss(family):
    import pytorch_lightning as pl

    torch.set_num_threads(1)
    _, _, lit, dm, _, _ = build_parts(micro_member(family), seed=0)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(lit, dm)
    losses = [x for _, x in lit.history]
    assert lit.global_step == 60
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10


def test_multi_stage_training_exports_and_resumes(tmp_path):
    from tie.models import load_backend
    from tie.training.pipeline import train_member

    torch.set_num_threads(1)
    member = micro_member(steps=8)
    member["stages"] = [{"lr": 1e-3, "warmup_steps": 2, "max_steps": 4, "prefix_frac": 0.5}]
    out = tmp_path / "micro"
    log = train_member(member, seed=0, out_dir=out, config_yaml="member: {}\n", log_every=100)
    assert [s["steps"] for s in log["stages"]] == [8, 4] and log["steps"] == 12
    card = (out / "MODEL_CARD.md").read_text()
    assert "stage overrides" in card
    assert "Semi-autoregressive masks (stage 1: 50% of the sequences)" in card
    backend = load_backend(str(out))
    assert backend.mask_id == backend.tokenizer.mask_token_id
    before = {k: v.clone() for k, v in backend.model.state_dict().items()}
    resumed = train_member(
        member, seed=0, out_dir=out, config_yaml="", log_every=100, init_from=out, first_stage=1
    )
    assert resumed["steps"] == 16 and len(resumed["stages"]) == 3
    after = load_backend(str(out)).model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="first_stage"):
        train_member(member, seed=0, out_dir=out, config_yaml="", first_stage=5)
    with pytest.raises(ValueError, match="stages"):
        check_member({**micro_member(), "stages": [{"lr_typo": 1}]})


def test_training_prints_no_lightning_leafspec_warning(tmp_path):
    """Issue 22: every tie-train printed torch's LeafSpec FutureWarning (pytorch-lightning's
    CombinedLoader uses the deprecated class); training filters exactly that warning."""
    import warnings

    from tie.training.pipeline import train_member

    torch.set_num_threads(1)
    member = micro_member(steps=2)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        train_member(member, seed=0, out_dir=tmp_path / "m", config_yaml="", log_every=100)
    leafspec = [str(w.message) for w in seen if "LeafSpec" in str(w.message)]
    assert not leafspec, leafspec
