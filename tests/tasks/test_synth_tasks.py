"""Synthetic testbed tasks: determinism, split hygiene, self-consistent gold, category mix."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tie.tasks.synth_countdown import SynthCountdownTask, solve_chain
from tie.tasks.synth_countdown import problem_key as cd_key
from tie.tasks.synth_math import (
    MIXES,
    SynthMathTask,
    format_problem,
    problem_key,
    sample_entities,
)
from tie.tasks.synth_world import N_GROUPS, get_world, split_of

TASKS = [
    lambda **kw: SynthMathTask(**kw),
    lambda **kw: SynthMathTask(mix="single_owner", **kw),
    lambda **kw: SynthCountdownTask(**kw),
    lambda **kw: SynthCountdownTask(n_numbers=4, **kw),
]


@pytest.mark.parametrize("make", TASKS)
def test_deterministic_and_seed_dependent(make):
    a = make(seed=3, n=200).load()
    b = make(seed=3, n=200).load()
    c = make(seed=4, n=200).load()
    assert a.to_list() == b.to_list()
    assert [r["prompt"] for r in a] != [r["prompt"] for r in c]
    assert len(set(a["id"])) == 200
    assert len(set(a["prompt"])) == 200  # no duplicate problems inside a split


@pytest.mark.parametrize("make", TASKS)
def test_every_gold_passes_its_grader_and_a_wrong_one_fails(make):
    task = make(seed=0, n=500)
    for row in task.load():
        assert task.score(row["answer"], row) == (task.extract(row["answer"], row), True)
        assert not task.score("", row)[1]
    row = task.load()[0]
    if task.name == "synth_math":
        assert not task.grade(task.extract(str(int(row["gold"]) + 1), row), row)
    else:
        assert not task.grade(row["gold"] + "+1", row)


def test_synth_math_chain_is_right_and_fixed_width():
    world = get_world()
    for row in SynthMathTask(seed=1, n=300).load():
        names = row["prompt"].rstrip("=").split("+")
        values = [world.values[world.index(x)] for x in names]
        assert int(row["gold"]) == sum(values)
        facts = row["reasoning"].split(";")[: len(names)]
        assert all(len(f) + 1 == 8 for f in facts)  # fact j sits in block j (block length 8)
        assert len(row["reasoning"]) <= SynthMathTask.budget.reasoning_len
        assert len(row["answer"]) == SynthMathTask.budget.answer_len
    assert format_problem(["e001", "e002", "e003"], [7, 12, 3]) == (
        "e001+e002+e003=",
        "e001=07;e002=12;e003=03;07+12=19;19+03=22;",
        "22",
    )


def test_eval_splits_never_overlap_training_or_each_other():
    for mix in MIXES:
        test = SynthMathTask(seed=0, n=400, mix=mix).load()
        dev = SynthMathTask(seed=0, n=400, split="dev", mix=mix).load()
        assert {split_of("synth_math|" + r["prompt"].rstrip("=")) for r in test} == {"test"}
        assert not set(test["prompt"]) & set(dev["prompt"])
    # the training sampler's own filter (what the zoo trainer uses) rejects every eval problem
    world, rng = get_world(), random.Random(0)
    train_keys = set()
    for _ in range(5000):
        ents, _ = sample_entities(rng, "mixed2", world)
        key = problem_key([world.names[e] for e in ents])
        if split_of(key) == "train":
            train_keys.add(key)
    test_keys = {
        "synth_math|" + r["prompt"].rstrip("=") for r in SynthMathTask(seed=0, n=500).rows()
    }
    assert train_keys and not train_keys & test_keys
    cd = SynthCountdownTask(seed=0, n=300).load()
    assert {split_of(cd_key(r["numbers"], r["target"])) for r in cd} == {"test"}


def test_category_mix_and_ownership():
    world = get_world()
    rows = SynthMathTask(seed=0, n=1000).load()
    counts = Counter(rows["category"])
    for cat, weight in MIXES["default"].items():
        assert abs(counts[cat] / 1000 - weight) < 0.06, (cat, counts)
    for row in rows:
        names = row["prompt"].rstrip("=").split("+")
        groups = {world.group[world.index(x)] for x in names}
        if row["category"] == "common":
            assert groups == {None}
        elif row["category"] == "single":
            assert len(groups) == 1 and None not in groups
        else:
            assert len(groups) == int(row["category"][-1]) and None not in groups
            assert row["owners"] == "+".join(str(g) for g in sorted(groups))
    control = Counter(SynthMathTask(seed=0, n=300, mix="single_owner").load()["category"])
    assert set(control) == {"common", "single"}
    assert (
        N_GROUPS == 3
        and len(world.common()) + sum(len(world.private(g)) for g in range(3)) == world.n
    )


def test_countdown_chain_and_categories():
    assert solve_chain([3, 5, 4], ["+", "*"]) == ("3+5=8;8*4=32;", "(3+5)*4", 32)
    assert solve_chain([3, 5, 4], ["*", "-"]) == ("3*5=15;15-4=11;", "3*5-4", 11)
    rows = SynthCountdownTask(seed=0, n=500).load()
    assert set(rows["category"]) == {"additive", "multiplicative", "mixed"}
    assert max(len(r) for r in rows["answer"]) <= SynthCountdownTask().budget.answer_len


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": "0"},
        {"n": 0},
        {"split": "validation"},
        {"split": "train"},
        {"mix": "nope"},
    ],
)
def test_bad_options_raise_clearly(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SynthMathTask(**kwargs)


def test_countdown_bad_options():
    with pytest.raises(ValueError, match="n_numbers"):
        SynthCountdownTask(n_numbers=5)
    with pytest.raises(ValueError, match="max_number"):
        SynthCountdownTask(max_number=100)
    with pytest.raises(ValueError, match="lower n"):
        SynthCountdownTask(n=50, max_number=2).rows()
