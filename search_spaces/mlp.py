"""MLP: fully connected ReLU-family layers, the guide's net for tables (and flattened images).

Searched: depth, width per layer, activation, dropout, batch normalisation; He init matched to
the activation; plus the shared optimiser space.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from torch import nn

from automl.families import Family, family_params, register_family
from automl.layers import ACTIVATIONS, dense_block, init_for_activation
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task import TaskInfo

NAME = "mlp"
SUPPORTS = frozenset({"classification", "regression", "image_recognition"})
MAX_LAYERS = 4


def max_width(task: TaskInfo) -> int:
    """Upper bound on layer width that grows with the data (small data, small nets)."""
    return int(min(1024, max(64, 2 ** math.ceil(math.log2(max(task.n_samples, 2)) - 1))))


def suggest(trial: optuna.Trial, task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    n_layers = trial.suggest_int(p + "n_layers", 1, MAX_LAYERS)
    params: dict[str, Any] = {p + "n_layers": n_layers}
    for i in range(n_layers):
        params[p + f"width_{i}"] = trial.suggest_int(
            p + f"width_{i}", 16, max_width(task), log=True
        )
    params[p + "activation"] = trial.suggest_categorical(p + "activation", list(ACTIVATIONS))
    params[p + "dropout"] = trial.suggest_float(p + "dropout", 0.0, 0.5)
    params[p + "batch_norm"] = trial.suggest_categorical(p + "batch_norm", [True, False])
    params.update(suggest_training(trial, NAME, task))
    return params


def defaults(task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    width = min(256, max_width(task))
    return {
        p + "n_layers": 2,
        p + "width_0": width,
        p + "width_1": max(16, width // 2),
        p + "activation": "relu",
        p + "dropout": 0.1,
        p + "batch_norm": True,
        **training_defaults(NAME, task),
    }


def build(params: dict[str, Any], task: TaskInfo) -> nn.Module:
    hp = family_params(params, NAME)
    in_features = math.prod(task.input_shape)
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for i in range(hp["n_layers"]):
        out = hp[f"width_{i}"]
        layers.append(dense_block(width, out, hp["activation"], hp["batch_norm"], hp["dropout"]))
        width = out
    layers.append(nn.Linear(width, task.output_dim))
    model = nn.Sequential(*layers)
    init_for_activation(model, hp["activation"])
    return model


FAMILY = register_family(
    Family(
        name=NAME,
        supports=SUPPORTS,
        suggest=suggest,
        build=build,
        defaults=defaults,
        summary="multilayer perceptron (ReLU family, batch norm, dropout)",
    )
)
