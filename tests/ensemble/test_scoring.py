import pytest
import torch

from tie.ensemble.options import EnsembleOptions
from tie.ensemble.scoring import (
    argmax_with_ties,
    change_count,
    logit_scores,
    masked_mean,
    select_final,
    step_change_count,
)


def test_step_change_count_normalised_and_empty_a():
    prev = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 4], [1, 1, 1, 1]])
    cur = torch.tensor([[1, 9, 9, 4], [1, 2, 3, 4], [2, 2, 2, 2]])
    in_a = torch.tensor([[True, True, False, True], [True] * 4, [False] * 4])
    # row 0: position 2 changed but is not in A -> 1 change of |A| = 3
    assert step_change_count(prev, in_a, cur, normalise=False).tolist() == [1.0, 0.0, 0.0]
    norm = step_change_count(prev, in_a, cur, normalise=True)
    assert norm.tolist() == pytest.approx([1 / 3, 0.0, 0.0])  # empty A -> 0


def test_commit_equal_to_previous_top1_is_no_change():
    # position 0 in A at t with top-1 5; committed as 5 -> shows 5 at t+1: no change.
    # position 1 in A with top-1 6; committed as 7 (e.g. sampling) -> a change.
    hist = torch.tensor([[5, 6], [5, 7]])
    in_a = torch.tensor([[True, True], [False, False]])
    assert change_count(hist, in_a, normalise=False) == 1.0
    assert change_count(hist, in_a, normalise=True) == 0.5


def test_masked_mean_falls_back_to_whole_region():
    vals = torch.tensor([[0.2, 0.4, 0.9], [0.3, 0.6, 0.9]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert masked_mean(vals, mask).tolist() == pytest.approx([0.3, 0.6])


def test_logit_scores_signs():
    class S:
        top1_prob = torch.tensor([[0.9, 0.5]])
        entropy = torch.tensor([[0.1, 2.0]])
        margin = torch.tensor([[0.8, 0.1]])
        in_A = torch.tensor([[True, False]])

    s = logit_scores(S)
    assert s["top1"].item() == pytest.approx(0.9)
    assert s["entropy"].item() == pytest.approx(-0.1)
    assert s["margin"].item() == pytest.approx(0.8)


def test_argmax_relay_and_tie_rules():
    scores = torch.tensor([[0.0, -1.0, 0.0], [0.0, -0.5, -2.0], [-3.0, -0.5, 0.0]])
    own = torch.tensor([[0.2, 0.9, 0.5], [0.8, 0.1, 0.9], [0.9, 0.7, 0.5]])
    leader, tied = argmax_with_ties(scores, "own_top1", own_top1=own)
    # col0: models 0,1 tie -> higher own top1 is model 1; col1: 1,2 tie -> model 2;
    # col2: 0,2 tie with equal own top1 -> model order -> 0
    assert leader.tolist() == [1, 2, 0]
    assert tied.tolist() == [True, True, True]
    leader, _ = argmax_with_ties(scores, "model_order")
    assert leader.tolist() == [0, 1, 0]
    gen = torch.Generator().manual_seed(0)
    picks = {argmax_with_ties(scores, "random", generator=gen)[0][0].item() for _ in range(30)}
    assert picks == {0, 1}
    with pytest.raises(ValueError, match="own mean answer top-1"):
        argmax_with_ties(scores, "own_top1")


def test_incumbent_tie_break_keeps_the_previous_leader_only_among_the_tied():
    scores = torch.tensor([[0.0, -1.0, 0.0], [0.0, -0.5, -2.0], [-3.0, -0.5, 0.0]])
    own = torch.tensor([[0.2, 0.9, 0.5], [0.8, 0.1, 0.9], [0.9, 0.7, 0.5]])
    # col0: incumbent 0 is tied -> kept (own_top1 would pick 1); col1: incumbent 0 is beaten ->
    # own_top1 among the tied (1, 2) -> 2; col2: no incumbent yet -> own_top1 -> model order 0
    incumbent = torch.tensor([0, 0, -1])
    leader, tied = argmax_with_ties(scores, "incumbent", own_top1=own, incumbent=incumbent)
    assert leader.tolist() == [0, 2, 0]
    assert tied.tolist() == [True, True, True]
    strict = torch.tensor([[0.0], [-1.0]])  # no tie: the incumbent never overrides the score
    leader, tied = argmax_with_ties(
        strict, "incumbent", own_top1=torch.ones(2, 1), incumbent=torch.tensor([1])
    )
    assert leader.tolist() == [0] and tied.tolist() == [False]
    with pytest.raises(ValueError, match="previous round's leaders"):
        argmax_with_ties(scores, "incumbent", own_top1=own)


def test_tolerance_ties_near_scores_and_the_tie_rule_decides():
    scores = torch.tensor([[0.0, 0.0], [-0.2, -0.6]])
    own = torch.tensor([[0.3, 0.3], [0.9, 0.9]])
    exact, tied = argmax_with_ties(scores, "own_top1", own_top1=own)
    assert exact.tolist() == [0, 0] and tied.tolist() == [False, False]
    # 0.2 behind is within 0.25: tied, and the more confident model 1 leads; 0.6 behind is not
    leader, tied = argmax_with_ties(scores, "own_top1", own_top1=own, tolerance=0.25)
    assert leader.tolist() == [1, 0] and tied.tolist() == [True, False]
    # an infinite tolerance ties everyone eligible, never a gated model
    eligible = torch.tensor([[True, True], [False, True]])
    leader, _ = argmax_with_ties(
        scores, "own_top1", own_top1=own, eligible=eligible, tolerance=float("inf")
    )
    assert leader.tolist() == [0, 1]


def test_argmax_respects_gating():
    scores = torch.tensor([[5.0, 5.0], [1.0, 1.0]])
    eligible = torch.tensor([[False, False], [True, False]])
    leader, _ = argmax_with_ties(scores, "model_order", eligible=eligible)
    assert leader.tolist() == [1, 0]  # column 1: nobody eligible -> gating ignored


def test_final_selection_rules():
    counts = torch.tensor([[1.0, 2.0, 0.5], [1.0, 1.0, 0.5], [3.0, 0.5, 0.5]])
    top1 = torch.tensor([[0.5, 0.9, 0.4], [0.7, 0.9, 0.4], [0.99, 0.9, 0.4]])
    assert select_final(counts, top1, "lowest_tcc").tolist() == [1, 2, 0]
    assert select_final(counts, top1, "best_model", best_index=2).tolist() == [2, 2, 2]
    led = torch.tensor([[3, 0, 1], [3, 0, 1], [0, 5, 0]])
    # col0: models 0 and 1 led most (3) -> lower count tie -> top1 0.7 -> model 1
    assert select_final(counts, top1, "most_selected", rounds_led=led).tolist() == [1, 2, 0]


@pytest.mark.parametrize("bad", [-0.1, True, "0.5", None])
def test_tie_tolerance_must_be_a_non_negative_number(bad):
    with pytest.raises(ValueError, match="tie_tolerance"):
        EnsembleOptions(experimental={"tie_tolerance": bad})


def test_options_validation_without_aliases():
    opts = EnsembleOptions(
        final_selection="lowest_tcc", tie_break="model_order", gating={"enabled": True}
    )
    assert opts.gating.enabled
    with pytest.raises(ValueError, match="tie_break='order'; expected one of"):
        EnsembleOptions(tie_break="order")  # early configs' spelling: no aliases kept
    with pytest.raises(ValueError, match="final_selection"):
        EnsembleOptions(final_selection="best")
    with pytest.raises(ValueError, match="best_model"):
        EnsembleOptions(final_selection="best_model")
    with pytest.raises(ValueError, match="interval"):
        EnsembleOptions(interval=0)
