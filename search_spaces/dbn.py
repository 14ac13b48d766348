"""DBN: the guide's answer to the vanishing gradient, a Deep Belief Net. A stack of RBMs is
pretrained greedily, one layer at a time, each on the hidden probabilities of the one below; the
stack then becomes a sigmoid network with an output layer, fine-tuned end to end with labels.

Searched: the resolution of photos and crop or pad (as the CNN's), depth and widths, the
first layer's visible units (Bernoulli over inputs scaled to [0, 1], or Gaussian over the
standardised inputs), pretraining epochs, CD-k steps, plain or persistent CD, pretraining
learning rate, dropout while fine-tuning; plus the shared optimiser space for fine-tuning.
Pretraining is its own phase (`pretrain`), before the first epoch.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from automl.boltzmann import RBM, VISIBLE_UNITS, VisibleScaling, pretrain_greedily
from automl.budget import Deadline
from automl.families import Hyperparameters, register_family_module
from automl.layers import default_view, downsampled, suggest_view
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "dbn"
SUPPORTS = frozenset({"classification", "regression", "image_recognition"})
SUMMARY = "deep belief net (RBMs pretrained greedily by CD-k, then fine-tuned)"
MAX_LAYERS = 3
MAX_WIDTH = 1024
MAX_PRETRAIN_EPOCHS = 30


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    suggest_view(hp, task)
    for i in range(hp.int("n_layers", 1, MAX_LAYERS)):
        hp.int(f"width_{i}", 32, MAX_WIDTH, log=True)
    hp.categorical("visible", VISIBLE_UNITS)
    hp.int("pretrain_epochs", 1, MAX_PRETRAIN_EPOCHS, log=True)
    hp.int("cd_steps", 1, 3)
    hp.categorical("persistent", [False, True])
    hp.float("pretrain_lr", 1e-3, 0.2, log=True)
    hp.float("dropout", 0.0, 0.5)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Hinton & Salakhutdinov's recipe, scaled down: two layers, CD-1, ten epochs per layer."""
    return {
        **default_view(task),
        "n_layers": 2,
        "width_0": 256,
        "width_1": 128,
        "visible": "bernoulli" if task.modality == "image" else "gaussian",
        "pretrain_epochs": 10,
        "cd_steps": 1,
        "persistent": False,
        "pretrain_lr": 0.1 if task.modality == "image" else 0.01,
        "dropout": 0.1,
        **training_defaults(task),
    }


def smallest(task: TaskInfo) -> dict[str, Any]:
    """One RBM of 64 units, pretrained for one epoch, at the lowest resolution of photos."""
    kept = {k: v for k, v in defaults(task).items() if not k.startswith("width_")}
    return {**kept, "n_layers": 1, "width_0": 64, "pretrain_epochs": 1}


class DeepBeliefNet(nn.Module):
    """RBMs whose hidden probabilities feed the next one, and a linear output layer."""

    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        widths = [hp[f"width_{i}"] for i in range(hp["n_layers"])]
        pooling, shape = downsampled(hp, task)  # photos: at the searched resolution
        self.reduce = nn.Identity() if pooling is None else pooling
        sizes = [math.prod(shape), *widths]
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
        h = self.scaling(self.reduce(x))
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
            visible = self.scaling(self.reduce(X))
        return pretrain_greedily(
            list(self.rbms), visible, batch_size=batch_size, deadline=deadline, **self.pretraining
        )


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return DeepBeliefNet(hp, task)


FAMILY = register_family_module(__name__)
