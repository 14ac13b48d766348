"""Autoencoder: the guide's net for unlabelled data, trained to reconstruct its input.

Searched: depth and widths of a symmetric encoder/decoder, the code size, activation and the
input noise of a denoising autoencoder (0 is a plain deep autoencoder); plus the shared
optimiser space. Any input (table rows, images, fixed-length series, bags of words) is
flattened; the output has the input's shape.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
import torch
from automl.search_spaces._training import suggest_training, training_defaults
from torch import nn

from automl.families import Family, family_params, register_family
from automl.layers import ACTIVATIONS, dense_block, init_for_activation
from automl.task import TaskInfo

NAME = "autoencoder"
SUPPORTS = frozenset({"unsupervised"})
MAX_LAYERS = 3


def _limits(task: TaskInfo) -> tuple[int, int]:
    """(widest hidden layer, largest code): codes narrower than the input."""
    features = math.prod(task.input_shape)
    return max(16, min(512, 2 * features)), max(2, min(64, features // 2))


def suggest(trial: optuna.Trial, task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    widest, largest_code = _limits(task)
    n_layers = trial.suggest_int(p + "n_layers", 1, MAX_LAYERS)
    params: dict[str, Any] = {p + "n_layers": n_layers}
    for i in range(n_layers):
        params[p + f"width_{i}"] = trial.suggest_int(p + f"width_{i}", 16, widest, log=True)
    params[p + "code_size"] = trial.suggest_int(p + "code_size", 2, largest_code, log=True)
    params[p + "activation"] = trial.suggest_categorical(p + "activation", list(ACTIVATIONS))
    params[p + "noise"] = trial.suggest_float(p + "noise", 0.0, 0.5)
    params.update(suggest_training(trial, NAME, task))
    return params


def defaults(task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    widest, largest_code = _limits(task)
    return {
        p + "n_layers": 1,
        p + "width_0": min(128, widest),
        p + "code_size": min(16, largest_code),
        p + "activation": "relu",
        p + "noise": 0.1,
        **training_defaults(NAME, task),
    }


class AutoEncoder(nn.Module):
    def __init__(self, hp: dict[str, Any], input_shape: tuple[int, ...]) -> None:
        super().__init__()
        features = math.prod(input_shape)
        widths = [hp[f"width_{i}"] for i in range(hp["n_layers"])]
        self.noise = hp["noise"]
        encoder: list[nn.Module] = [nn.Flatten()]
        width = features
        for out in widths:
            encoder.append(dense_block(width, out, hp["activation"], False, 0.0))
            width = out
        encoder.append(nn.Linear(width, hp["code_size"]))
        decoder: list[nn.Module] = []
        width = hp["code_size"]
        for out in reversed(widths):
            decoder.append(dense_block(width, out, hp["activation"], False, 0.0))
            width = out
        decoder += [nn.Linear(width, features), nn.Unflatten(1, tuple(input_shape))]
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        init_for_activation(self, hp["activation"])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise > 0:
            x = x + self.noise * torch.randn_like(x)  # denoising: reconstruct the clean input
        return self.decoder(self.encoder(x))


def build(params: dict[str, Any], task: TaskInfo) -> nn.Module:
    return AutoEncoder(family_params(params, NAME), task.input_shape)


FAMILY = register_family(
    Family(
        name=NAME,
        supports=SUPPORTS,
        suggest=suggest,
        build=build,
        defaults=defaults,
        summary="deep / denoising autoencoder (code size searched)",
    )
)
