"""CNN: blocks of conv -> [batch norm] -> ReLU-family (optionally residual), then pooling; a
fully connected head. The guide's net for images.

Searched: number of blocks (bounded by the image size: each block halves it), channels per
block, convs per block, kernel size, residual connections, pooling type, dropout, head width,
activation; plus the shared optimiser space.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from torch import nn

from automl.families import Family, family_params, register_family
from automl.layers import ACTIVATIONS, dense_block, init_for_activation, make_activation
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task import TaskInfo

NAME = "cnn"
SUPPORTS = frozenset({"image_recognition"})
MAX_BLOCKS = 4
MIN_SIDE_AFTER_POOLING = 2


def max_blocks(task: TaskInfo) -> int:
    """Each block halves the image; stop while at least 2x2 remains (8x8 digits: 2 blocks)."""
    side = min(task.input_shape[1:]) if task.input_shape else 8
    return max(1, min(MAX_BLOCKS, int(math.log2(max(side, 2) / MIN_SIDE_AFTER_POOLING))))


class ConvBlock(nn.Module):
    """`convs` convolutions at one resolution, an optional projected skip, then 2x2 pooling."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        convs: int,
        kernel: int,
        activation: str,
        batch_norm: bool,
        residual: bool,
        pool: str,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_ch
        for _ in range(convs):
            layers.append(
                nn.Conv2d(channels, out_ch, kernel, padding=kernel // 2, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(make_activation(activation))
            channels = out_ch
        self.body = nn.Sequential(*layers)
        self.skip = (
            (nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1, bias=False))
            if residual
            else None
        )
        self.pool = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)

    def forward(self, x):
        out = self.body(x)
        if self.skip is not None:
            out = out + self.skip(x)
        return self.pool(out)


def suggest(trial: optuna.Trial, task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    n_blocks = trial.suggest_int(p + "n_blocks", 1, max_blocks(task))
    params: dict[str, Any] = {p + "n_blocks": n_blocks}
    for i in range(n_blocks):
        params[p + f"channels_{i}"] = trial.suggest_int(p + f"channels_{i}", 8, 128, log=True)
    params[p + "convs_per_block"] = trial.suggest_int(p + "convs_per_block", 1, 2)
    params[p + "kernel"] = trial.suggest_categorical(p + "kernel", [3, 5])
    params[p + "residual"] = trial.suggest_categorical(p + "residual", [False, True])
    params[p + "pool"] = trial.suggest_categorical(p + "pool", ["max", "avg"])
    params[p + "batch_norm"] = trial.suggest_categorical(p + "batch_norm", [True, False])
    params[p + "activation"] = trial.suggest_categorical(p + "activation", list(ACTIVATIONS))
    params[p + "global_pool"] = trial.suggest_categorical(p + "global_pool", [True, False])
    params[p + "head_width"] = trial.suggest_categorical(p + "head_width", [0, 64, 128, 256])
    params[p + "dropout"] = trial.suggest_float(p + "dropout", 0.0, 0.5)
    params.update(suggest_training(trial, NAME, task))
    return params


def defaults(task: TaskInfo) -> dict[str, Any]:
    p = f"{NAME}."
    n_blocks = min(2, max_blocks(task))
    return {
        p + "n_blocks": n_blocks,
        **{p + f"channels_{i}": 32 * 2**i for i in range(n_blocks)},
        p + "convs_per_block": 1,
        p + "kernel": 3,
        p + "residual": False,
        p + "pool": "max",
        p + "batch_norm": True,
        p + "activation": "relu",
        p + "global_pool": False,
        p + "head_width": 128,
        p + "dropout": 0.2,
        **training_defaults(NAME, task),
    }


def build(params: dict[str, Any], task: TaskInfo) -> nn.Module:
    hp = family_params(params, NAME)
    channels, height, width = task.input_shape
    blocks: list[nn.Module] = []
    for i in range(hp["n_blocks"]):
        out_ch = hp[f"channels_{i}"]
        blocks.append(
            ConvBlock(
                channels,
                out_ch,
                hp["convs_per_block"],
                hp["kernel"],
                hp["activation"],
                hp["batch_norm"],
                hp["residual"],
                hp["pool"],
            )
        )
        channels = out_ch
        height, width = height // 2, width // 2
    if hp["global_pool"]:
        blocks += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        features = channels
    else:
        blocks.append(nn.Flatten())
        features = channels * height * width
    if hp["dropout"] > 0:
        blocks.append(nn.Dropout(hp["dropout"]))
    if hp["head_width"]:
        blocks.append(
            dense_block(features, hp["head_width"], hp["activation"], False, hp["dropout"])
        )
        features = hp["head_width"]
    blocks.append(nn.Linear(features, task.output_dim))
    model = nn.Sequential(*blocks)
    init_for_activation(model, hp["activation"])
    return model


FAMILY = register_family(
    Family(
        name=NAME,
        supports=SUPPORTS,
        suggest=suggest,
        build=build,
        defaults=defaults,
        summary="convolutional net (conv/ReLU/pool blocks, optional residuals, dense head)",
    )
)
