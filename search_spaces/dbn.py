"""DBN: the guide's answer to the vanishing gradient, a Deep Belief Net. A stack of RBMs is
pretrained greedily, one layer at a time, each on the hidden probabilities of the one below; the
stack then becomes a sigmoid network with an output layer, fine-tuned end to end with labels.

Searched: depth and widths, the first layer's visible units (Bernoulli over inputs scaled to
[0, 1], or Gaussian over the standardised inputs), pretraining epochs, CD-k steps, plain or
persistent CD, pretraining learning rate, dropout while fine-tuning; plus the shared optimiser
space for fine-tuning. Pretraining is its own phase (`pretrain`), before the first epoch.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
import torch
from torch import nn

from automl.boltzmann import RBM, VISIBLE_UNITS, VisibleScaling, pretrain_greedily
from automl.budget import Deadline
from automl.families import Family, family_params, register_family
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task import TaskInfo

NAME = "dbn"
SUPPORTS = frozenset({"classification", "regression", "image_recognition"})
MAX_LAYERS = 3
MAX_WIDTH = 1024
MAX_PRETRAIN_EPOCHS = 30


def suggest(trial: optuna.Trial, task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    n_layers = trial.suggest_int(p + "n_layers", 1, MAX_LAYERS)
    params: dict[str, Any] = {p + "n_layers": n_layers}
    for i in range(n_layers):
        params[p + f"width_{i}"] = trial.suggest_int(p + f"width_{i}", 32, MAX_WIDTH, log=True)
    params.update(
        {
            p + "visible": trial.suggest_categorical(p + "visible", list(VISIBLE_UNITS)),
            p + "pretrain_epochs": trial.suggest_int(
                p + "pretrain_epochs", 1, MAX_PRETRAIN_EPOCHS, log=True
            ),
            p + "cd_steps": trial.suggest_int(p + "cd_steps", 1, 3),
            p + "persistent": trial.suggest_categorical(p + "persistent", [False, True]),
            p + "pretrain_lr": trial.suggest_float(p + "pretrain_lr", 1e-3, 0.2, log=True),
            p + "dropout": trial.suggest_float(p + "dropout", 0.0, 0.5),
        }
    )
    params.update(suggest_training(trial, NAME, task))
    return params


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Hinton & Salakhutdinov's recipe, scaled down: two layers, CD-1, ten epochs per layer."""
    p = f"{NAME}."
    return {
        p + "n_layers": 2,
        p + "width_0": 256,
        p + "width_1": 128,
        p + "visible": "bernoulli" if task.modality == "image" else "gaussian",
        p + "pretrain_epochs": 10,
        p + "cd_steps": 1,
        p + "persistent": False,
        p + "pretrain_lr": 0.1 if task.modality == "image" else 0.01,
        p + "dropout": 0.1,
        **training_defaults(NAME, task),
    }


class DeepBeliefNet(nn.Module):
    """RBMs whose hidden probabilities feed the next one, and a linear output layer."""

    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        widths = [hp[f"width_{i}"] for i in range(hp["n_layers"])]
        sizes = [math.prod(task.input_shape), *widths]
        self.scaling = VisibleScaling(hp["visible"], task.input_range)
        self.rbms = nn.ModuleList(
            RBM(n_in, n_out, hp["visible"] if i == 0 else "bernoulli")
            for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False))
        )
        self.dropout = nn.Dropout(hp["dropout"])
        self.head = nn.Linear(widths[-1], task.output_dim)
        self.pretraining = {
            "epochs": hp["pretrain_epochs"],
            "lr": hp["pretrain_lr"],
            "cd_steps": hp["cd_steps"],
            "persistent": hp["persistent"],
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.scaling(x)
        for rbm in self.rbms:
            h = self.dropout(rbm(h))
        return self.head(h)

    def pretrain(
        self, X: torch.Tensor, batch_size: int, deadline: Deadline | None = None
    ) -> list[dict[str, Any]]:
        """Greedy layer-wise contrastive divergence; no labels are used."""
        if self.pretraining["epochs"] < 1:
            return []
        with torch.no_grad():
            visible = self.scaling(X)
        return pretrain_greedily(
            list(self.rbms), visible, batch_size=batch_size, deadline=deadline, **self.pretraining
        )


def build(params: dict[str, Any], task: TaskInfo) -> nn.Module:
    return DeepBeliefNet(family_params(params, NAME), task)


FAMILY = register_family(
    Family(
        name=NAME,
        supports=SUPPORTS,
        suggest=suggest,
        build=build,
        defaults=defaults,
        summary="deep belief net (RBMs pretrained greedily by CD-k, then fine-tuned)",
    )
)
