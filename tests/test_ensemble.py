"""Greedy ensemble selection (automl.ensemble) on fixed out-of-fold outputs: known answers."""

from __future__ import annotations

import math

import torch

from automl.ensemble import Ensemble, blend, select_ensemble

TARGETS = torch.tensor([0, 0, 1, 1])


def logits(*p_class_1: float) -> torch.Tensor:
    """Two-class logits whose softmax gives class 1 the probabilities given."""
    p = torch.tensor(p_class_1)
    return torch.log(torch.stack([1 - p, p], dim=1))


def accuracy_then_loss(outputs: torch.Tensor) -> tuple[float, float]:
    accuracy = float((outputs.argmax(1) == TARGETS).float().mean())
    return accuracy, -float(torch.nn.functional.cross_entropy(outputs, TARGETS))


def test_a_different_weaker_member_beats_a_copy_of_the_best():
    best = logits(0.2, 0.2, 0.9, 0.4)  # 3 of 4 right: wrong on the last row
    copy = logits(0.2, 0.2, 0.9, 0.4)  # the same architecture again
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
    assert accuracy_then_loss(blended) == (score, loss)


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


def test_the_ensemble_module_averages_probabilities_with_its_weights():
    first = torch.nn.Linear(2, 2)
    second = torch.nn.Linear(2, 2)
    ensemble = Ensemble([first, second], classification=True, weights=[3.0, 1.0])
    x = torch.randn(5, 2)
    expected = 0.75 * torch.softmax(first(x), 1) + 0.25 * torch.softmax(second(x), 1)
    torch.testing.assert_close(torch.softmax(ensemble(x), 1), expected)
    assert "weights" not in ensemble.state_dict()  # recorded in bundle.json instead
    assert math.isclose(float(ensemble.weights.sum()), 1.0, rel_tol=1e-6)
