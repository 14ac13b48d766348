"""MLP: fully connected ReLU-family layers, the guide's net for tables (and flattened images).

Searched: depth, width per layer, activation, dropout, batch normalisation; He init matched to
the activation; plus the shared optimiser space. Depth 0 is a linear model (multinomial logistic
regression, or least squares): on small tables LDA and logistic regression beat every deeper
net, so the search must be able to find one, and it is a different kind of member for the
ensemble.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.layers import ACTIVATIONS, dense_block, init_for_activation
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "mlp"
SUPPORTS = frozenset({"classification", "regression", "image_recognition"})
SUMMARY = "multilayer perceptron (ReLU family, batch norm, dropout)"
MAX_LAYERS = 4


def max_width(task: TaskInfo) -> int:
    """Upper bound on layer width that grows with the data (small data, small nets)."""
    return int(min(1024, max(64, 2 ** math.ceil(math.log2(max(task.n_samples, 2)) - 1))))


SMALL_ROWS = 2000  # up to this many rows, the linear model is tried first (an alternative)


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    n_layers = hp.int("n_layers", 0, MAX_LAYERS)
    for i in range(n_layers):
        hp.int(f"width_{i}", 16, max_width(task), log=True)
    if n_layers:
        hp.categorical("activation", ACTIVATIONS)
        hp.float("dropout", 0.0, 0.5)
        hp.categorical("batch_norm", [True, False])
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    width = min(256, max_width(task))
    return {
        "n_layers": 2,
        "width_0": width,
        "width_1": max(16, width // 2),
        "activation": "relu",
        "dropout": 0.1,
        "batch_norm": True,
        **training_defaults(task),
    }


def alternatives(task: TaskInfo) -> list[dict[str, Any]]:
    """The linear model, on a small table: its rows cannot tell a deep net from noise."""
    if task.modality != "table" or task.n_samples > SMALL_ROWS:
        return []
    return [{"n_layers": 0, **training_defaults(task, lr=1e-2)}]


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(task.input_shape)
    for i in range(hp["n_layers"]):
        out = hp[f"width_{i}"]
        layers.append(dense_block(width, out, hp["activation"], hp["batch_norm"], hp["dropout"]))
        width = out
    layers.append(nn.Linear(width, task.output_dim))
    model = nn.Sequential(*layers)
    if hp["n_layers"]:
        init_for_activation(model, hp["activation"])
    return model


FAMILY = register_family_module(__name__)
