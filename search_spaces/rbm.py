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

import optuna
import torch
from torch import nn

from automl.boltzmann import RBM, VISIBLE_UNITS, ContrastiveDivergence, VisibleScaling
from automl.families import Family, family_params, register_family
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task import TaskInfo

NAME = "rbm"
SUPPORTS = frozenset({"unsupervised"})
MAX_HIDDEN = 1024


def suggest(trial: optuna.Trial, task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    params: dict[str, Any] = {
        p + "visible": trial.suggest_categorical(p + "visible", list(VISIBLE_UNITS)),
        p + "cd_steps": trial.suggest_int(p + "cd_steps", 1, 5),
        p + "persistent": trial.suggest_categorical(p + "persistent", [False, True]),
    }
    if task.code_size is None:
        params[p + "hidden"] = trial.suggest_int(p + "hidden", 8, MAX_HIDDEN, log=True)
    training = suggest_training(trial, NAME, task)
    if training[p + "train_optimizer"] == "sgd":  # the classic CD optimiser: momentum searched
        name = p + "train_momentum"
        training[name] = trial.suggest_float(name, 0.0, 0.95)
    return {**params, **training}


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Hinton's practical guide: CD-1, SGD at a constant rate with momentum 0.5."""
    p = f"{NAME}."
    params = {
        p + "visible": "bernoulli" if task.modality == "image" else "gaussian",
        p + "cd_steps": 1,
        p + "persistent": False,
        **training_defaults(NAME, task, lr=0.1 if task.modality == "image" else 0.01),
        p + "train_optimizer": "sgd",
        p + "train_momentum": 0.5,
        p + "train_schedule": "constant",
    }
    if task.code_size is None:
        params[p + "hidden"] = 128
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reconstruction = self.rbm.reconstruct(self.scaling(x))
        return self.scaling.inverse(reconstruction).reshape(-1, *self.input_shape)

    def training_loss(self, x: torch.Tensor, _targets: torch.Tensor) -> torch.Tensor:
        return self.divergence.loss(self.rbm, self.scaling(x))

    def monitor(self, x: torch.Tensor) -> dict[str, float]:
        likelihood = self.rbm.pseudo_log_likelihood(self.scaling(x))
        return {} if math.isnan(likelihood) else {"pseudo_log_likelihood": likelihood}


def build(params: dict[str, Any], task: TaskInfo) -> nn.Module:
    return RBMNetwork(family_params(params, NAME), task)


FAMILY = register_family(
    Family(
        name=NAME,
        supports=SUPPORTS,
        suggest=suggest,
        build=build,
        defaults=defaults,
        summary="restricted Boltzmann machine (CD-k / persistent CD, Bernoulli or Gaussian)",
    )
)
