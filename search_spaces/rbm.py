"""RBM: the guide's other net for unlabelled data, a restricted Boltzmann machine trained by
contrastive divergence.

Searched: visible units (Bernoulli over inputs scaled to [0, 1], or Gaussian over the
standardised inputs), hidden units (fixed by `--code-size`), CD-k steps, plain or persistent CD,
and the shared optimiser space, with SGD's momentum searched too. Selected,
like the autoencoders, by held-out reconstruction error (the mean-field reconstruction); its
pseudo-log-likelihood is logged every epoch. Its codes are the hidden units' probabilities.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from automl.boltzmann import RBM, VISIBLE_UNITS, ContrastiveDivergence, VisibleScaling
from automl.families import Hyperparameters, register_family_module
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "rbm"
SUPPORTS = frozenset({"unsupervised"})
SUMMARY = "restricted Boltzmann machine (CD-k / persistent CD, Bernoulli or Gaussian)"
MAX_HIDDEN = 1024


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    hp.categorical("visible", VISIBLE_UNITS)
    hp.int("cd_steps", 1, 5)
    hp.categorical("persistent", [False, True])
    if task.code_size is None:
        hp.int("hidden", 8, MAX_HIDDEN, log=True)
    suggest_training(hp, task)
    if hp.values["train_optimizer"] == "sgd":  # the classic CD optimiser: momentum searched
        hp.float("train_momentum", 0.0, 0.95)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Hinton's practical guide: CD-1, SGD at a constant rate with momentum 0.5."""
    params = {
        "visible": "bernoulli" if task.modality == "image" else "gaussian",
        "cd_steps": 1,
        "persistent": False,
        **training_defaults(task, lr=0.1 if task.modality == "image" else 0.01),
        "train_optimizer": "sgd",
        "train_momentum": 0.5,
        "train_schedule": "constant",
    }
    if task.code_size is None:
        params["hidden"] = 128
    return params


class RBMNetwork(nn.Module):
    """One RBM over the flattened input: `forward` reconstructs, `encode` gives p(h | v),
    `training_loss` is the contrastive divergence of a batch."""

    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        self.input_shape = tuple(task.input_shape)
        hidden = task.code_size or hp["hidden"]
        self.scaling = VisibleScaling(hp["visible"], task.input_range)
        self.rbm = RBM(math.prod(self.input_shape), hidden, hp["visible"])
        self.divergence = ContrastiveDivergence(hp["cd_steps"], hp["persistent"])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.rbm(self.scaling(x))

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """The expected visible units given hidden probabilities, in the input's units."""
        return self.scaling.inverse(self.rbm.visible_mean(h)).reshape(-1, *self.input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))  # mean-field: E[v | p(h | v)]

    def training_loss(self, x: torch.Tensor, _targets: torch.Tensor) -> torch.Tensor:
        return self.divergence.loss(self.rbm, self.scaling(x))

    def monitor(self, x: torch.Tensor) -> dict[str, float]:
        likelihood = self.rbm.pseudo_log_likelihood(self.scaling(x))
        return {} if math.isnan(likelihood) else {"pseudo_log_likelihood": likelihood}


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return RBMNetwork(hp, task)


FAMILY = register_family_module(__name__)
