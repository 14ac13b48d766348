"""Greedy ensemble selection (automl.ensemble) on fixed out-of-fold outputs: known answers."""

from __future__ import annotations

import math

import torch

from automl.ensemble import Ensemble, bagged_selection, blend, heaviest, select_ensemble

TARGETS = torch.tensor([0, 0, 1, 1])


def logits(*p_class_1: float) -> torch.Tensor:
    """Two-class logits whose softmax gives class 1 the probabilities given."""
    p = torch.tensor(p_class_1)
    return torch.log(torch.stack([1 - p, p], dim=1))


def accuracy_then_loss(outputs: torch.Tensor) -> tuple[float, float]:
    accuracy = float((outputs.argmax(1) == TARGETS).float().mean())
    return accuracy, -float(torch.nn.functional.cross_entropy(outputs, TARGETS))


def test_a_different_weaker_member_beats_a_copy_of_the_best():
    best = logits(0.2, 0.2, 0.9, 0.45)  # 3 of 4 right: wrong on the last row
    copy = logits(0.2, 0.2, 0.9, 0.45)  # the same architecture again
    other = logits(0.6, 0.3, 0.55, 0.9)  # 3 of 4 right: wrong on the first row, unsure
    weaker = logits(0.7, 0.6, 0.45, 0.95)  # 1 of 4: worse alone than either
    candidates = [best, copy, other, weaker]
    counts, (score, _) = select_ensemble(candidates, accuracy_then_loss, True, rounds=2)
    # round 1 takes the best (its copy ties, the earlier wins); round 2 adds the other:
    # the blend of the two is right on all four rows
    assert counts == [1, 0, 1, 0] and score == 1.0
    # more rounds weight them further, never worse than the best round so far
    counts, (score, loss) = select_ensemble(candidates, accuracy_then_loss, True, rounds=25)
    assert score == 1.0 and counts[0] > 0 and counts[2] > 0 and counts[1] == 0
    blended = blend(torch.stack(candidates), torch.tensor(counts) / sum(counts), True)
    accuracy, minus_loss = accuracy_then_loss(blended)
    assert accuracy == score and math.isclose(minus_loss, loss, rel_tol=1e-6)


def test_regression_errors_of_opposite_sign_cancel():
    targets = torch.tensor([1.0, 2.0, 3.0])
    high, low, far = targets + 1, targets - 1, targets + 3

    def minus_squared_error(outputs: torch.Tensor) -> tuple[float, float]:
        error = float(((outputs - targets) ** 2).mean())
        return -error, -error

    counts, (score, _) = select_ensemble([far, high, low], minus_squared_error, False, rounds=4)
    assert counts == [0, 1, 1]  # high alone, then low: the best round
    assert score == 0.0


def test_the_blend_stops_growing_at_the_trial_limit():
    candidates = [logits(0.1 * i + 0.05, 0.2, 0.8, 0.7) for i in range(6)]
    counts, _ = select_ensemble(candidates, accuracy_then_loss, True, rounds=25, max_trials=2)
    assert sum(c > 0 for c in counts) <= 2


def judge(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    accuracy = float((outputs.argmax(1) == targets).float().mean())
    return accuracy, -float(torch.nn.functional.cross_entropy(outputs, targets))


def test_bagged_selection_gives_a_candidate_better_on_every_row_all_the_weight():
    targets = torch.tensor([0, 1] * 20)
    sure = torch.where(targets == 1, 0.9, 0.1)
    good = torch.log(torch.stack([1 - sure, sure], dim=1))
    worse = [torch.log(torch.stack([1 - p, p], dim=1)) for p in (0.6 * sure + 0.2, 1 - sure)]
    weights = bagged_selection([worse[0], good, worse[1]], targets, judge, True, seed=0)
    assert weights == [0.0, 1.0, 0.0]


def test_bagged_selection_spreads_weight_where_one_split_picks_by_a_row():
    # A is right on rows 0-35, B on rows 25-59, equally sure: judged by accuracy alone, on all
    # rows A leads by one row, and no blend beats A alone (an even one ties wherever they
    # disagree), so one selection gives B nothing; on resampled rows B leads about as often
    # and keeps a share. On all the rows the bags' blend loses a row to A alone but is less
    # wrong where A is wrong (a lower loss), so it stands

    def accuracy(outputs: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
        return judge(outputs, truth)[0], 0.0

    targets = torch.tensor([0, 1] * 30)
    rows = torch.arange(60)
    members = []
    for right in (rows <= 35, rows >= 25):
        p = torch.where(right == (targets == 1), 0.8, 0.2)
        members.append(torch.log(torch.stack([1 - p, p], dim=1)))
    counts, _ = select_ensemble(members, lambda out: accuracy(out, targets), True)
    assert counts == [1, 0]
    weights = bagged_selection(members, targets, judge, True, seed=0)
    assert math.isclose(sum(weights), 1.0) and weights[1] > 0.2
    assert weights == bagged_selection(members, targets, judge, True, seed=0)  # seeded


def test_bagged_selection_keeps_the_best_alone_when_its_blend_is_no_better_on_all_rows():
    # Both are right on every row (GunPoint: 16 trials at 100 % out of fold). A is surer on
    # all rows but three, where B is surer: resamples holding several of the three pick B by
    # the loss, but on all the rows every blend of them has a higher loss than A alone and
    # no better accuracy
    targets = torch.tensor([0, 1] * 20)
    sure_a = torch.full((40,), 0.95)
    sure_a[:3] = 0.6
    members = []
    for sure in (sure_a, torch.full((40,), 0.9)):
        p = torch.where(targets == 1, sure, 1 - sure)
        members.append(torch.log(torch.stack([1 - p, p], dim=1)))
    assert bagged_selection(members, targets, judge, True, seed=0) == [1.0, 0.0]


def test_the_heaviest_members_are_kept_while_their_networks_fit():
    # weights, and networks per member (fold networks under cross-validation)
    assert heaviest([0.1, 0.5, 0.0, 0.4], [1, 1, 1, 1]) == [1, 3, 0]
    assert heaviest([0.2, 0.5, 0.3], [10, 10, 10], limit=20) == [1, 2]
    assert heaviest([0.2, 0.5, 0.3], [10, 30, 10], limit=20) == [1]  # the first always


def test_the_ensemble_module_averages_probabilities_with_its_weights():
    first = torch.nn.Linear(2, 2)
    second = torch.nn.Linear(2, 2)
    ensemble = Ensemble([first, second], classification=True, weights=[3.0, 1.0])
    x = torch.randn(5, 2)
    expected = 0.75 * torch.softmax(first(x), 1) + 0.25 * torch.softmax(second(x), 1)
    torch.testing.assert_close(torch.softmax(ensemble(x), 1), expected)
    assert "weights" not in ensemble.state_dict()  # recorded in bundle.json instead
    assert math.isclose(float(ensemble.weights.sum()), 1.0, rel_tol=1e-6)
