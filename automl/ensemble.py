"""The exported model: networks of the search, weighted by greedy ensemble selection.

On small validation sets the single best trial is a noisy pick (digits: several trials tie at
100 % validation accuracy and differ by 1.5 points on the test split). Ensemble selection
(Caruana et al. 2004) adds, one at a time and with replacement, the trial whose outputs most
improve the blend's validation score, so a different, weaker trial can beat a third copy of
the best architecture; the number of times a trial is picked is its weight. Members are
ordinary family networks (a cross-validated trial's are its fold networks, sharing its
weight), so export stays one module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from automl.errors import DataError

SELECTION_ROUNDS = 25  # picks, with replacement: weights are multiples of 1/25
MAX_TRIALS = 5  # distinct trials in the blend: each adds its networks' latency to the export


class Ensemble(nn.Module):
    """Weighted average of member probabilities (classification) or outputs (regression).

    For classification the output is log(weighted mean softmax): argmax and softmax of it are
    the ensemble's class and probabilities, so callers treat it like any logits.
    """

    def __init__(
        self,
        members: list[nn.Module],
        classification: bool,
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.classification = classification
        shares = torch.as_tensor(weights if weights is not None else [1.0] * len(members))
        # not in the state dict: bundle.json records the weights (older bundles had none)
        self.register_buffer("weights", shares.float() / shares.sum(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack([member(x) for member in self.members])
        return blend(outputs, self.weights, self.classification)

    def node_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities of every node of parse trees (n, 2L-1, classes): the average
        over the members that compose trees (RNTNs), their weights renormalised."""
        parts = [
            (weight, torch.softmax(member.node_outputs(x)[0], dim=-1))
            for weight, member in zip(self.weights, self.members, strict=True)
            if hasattr(member, "node_outputs")
        ]
        if not parts:
            raise DataError(
                "--nodes labels every phrase of a parse tree, which only an RNTN does; this "
                "model has none: fit with --families rntn."
            )
        total = sum(weight for weight, _ in parts)
        return sum(weight / total * probabilities for weight, probabilities in parts)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codes of a model of unlabelled data, which keeps one network (an average of
        codes from different encoders would mean nothing)."""
        return self.members[0].encode(x)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes back to a reconstruction, by the same one network."""
        return self.members[0].decode(codes)


def blend(outputs: torch.Tensor, weights: torch.Tensor, classification: bool) -> torch.Tensor:
    """Outputs stacked along the first axis, averaged with `weights` (summing to 1).

    Summed member by member, in order: a vectorised sum over the first axis may add in an
    order that depends on a row's position, and a row's prediction must not depend on the
    rows beside it (scikit-learn's sample-order check)."""
    parts = torch.softmax(outputs, dim=-1) if classification else outputs
    total = parts[0] * weights[0]
    for i in range(1, len(parts)):  # indexed: torch.export cannot reload an unbind of nothing
        total = total + parts[i] * weights[i]
    return torch.log(total.clamp_min(1e-12)) if classification else total


def select_ensemble(
    outputs: list[torch.Tensor],
    objective: Callable[[torch.Tensor], tuple[float, float]],
    classification: bool,
    rounds: int = SELECTION_ROUNDS,
    max_trials: int = MAX_TRIALS,
) -> tuple[list[int], tuple[float, float]]:
    """Greedy forward selection with replacement over candidates' validation outputs.

    `objective(blended outputs)` is (score, -loss), higher better: the score decides and the
    loss breaks ties (accuracy ties are common on a few dozen rows). Each round adds the
    candidate that makes the blend best; the counts of the best round's blend are returned
    (an earlier round on a tie, so fewer picks), with its objective. Candidate 0 is the best
    trial by the leaderboard; on a tie between candidates the earlier one is taken.
    """
    stacked = torch.stack(outputs).float()
    counts = [0] * len(outputs)
    best_counts, best = list(counts), (-float("inf"), -float("inf"))
    for _ in range(rounds):
        full = sum(c > 0 for c in counts) >= max_trials
        allowed = [i for i, c in enumerate(counts) if c] if full else range(len(outputs))
        tries = []
        for i in allowed:
            weights = torch.tensor(counts, dtype=torch.float32)
            weights[i] += 1
            tries.append((objective(blend(stacked, weights / weights.sum(), classification)), -i))
        (value, minus_i) = max(tries)
        counts[-minus_i] += 1
        if value > best:
            best, best_counts = value, list(counts)
    return best_counts, best
