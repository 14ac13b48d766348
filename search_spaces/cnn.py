"""CNN: blocks of conv -> [batch norm] -> ReLU-family (optionally residual), then pooling; a
fully connected head. The guide's net for images.

Searched: the resolution (photos: 32 px up to the working side, by average pooling first)
and, for photos that are not square, crop or pad (automl/layers.py); the number of blocks
(bounded by that resolution: each block halves it), channels per block, convs per block,
kernel size, residual connections, pooling type, dropout, head width, activation; plus the
shared optimiser space.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.layers import (
    ACTIVATIONS,
    default_view,
    dense_block,
    downsampled,
    init_for_activation,
    make_activation,
    suggest_view,
)
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "cnn"
SUPPORTS = frozenset({"image_recognition"})
SUMMARY = "convolutional net (conv/ReLU/pool blocks, optional residuals, dense head)"
MAX_BLOCKS = 4
MIN_SIDE_AFTER_POOLING = 2


def max_blocks(side: int) -> int:
    """Each block halves the image; stop while at least 2x2 remains (8x8 digits: 2 blocks)."""
    return max(1, min(MAX_BLOCKS, int(math.log2(max(side, 2) / MIN_SIDE_AFTER_POOLING))))


def _side(hp: dict[str, Any], task: TaskInfo) -> int:
    """The short side the blocks start from: the searched resolution, or the images'."""
    if not task.input_shape:
        return 8
    return min(downsampled(hp, task)[1][1:])


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


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    side = _side(suggest_view(hp, task), task)
    for i in range(hp.int("n_blocks", 1, max_blocks(side))):
        hp.int(f"channels_{i}", 8, 128, log=True)
    hp.int("convs_per_block", 1, 2)
    hp.categorical("kernel", [3, 5])
    hp.categorical("residual", [False, True])
    hp.categorical("pool", ["max", "avg"])
    hp.categorical("batch_norm", [True, False])
    hp.categorical("activation", ACTIVATIONS)
    hp.categorical("global_pool", [True, False])
    hp.categorical("head_width", [0, 64, 128, 256])
    hp.float("dropout", 0.0, 0.5)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Two blocks of 32 and 64 channels, at the lowest searched resolution."""
    low = default_view(task)
    n_blocks = min(2, max_blocks(_side(low, task)))
    return {
        **low,
        "n_blocks": n_blocks,
        **{f"channels_{i}": 32 * 2**i for i in range(n_blocks)},
        "convs_per_block": 1,
        "kernel": 3,
        "residual": False,
        "pool": "max",
        "batch_norm": True,
        "activation": "relu",
        "global_pool": False,
        "head_width": 128,
        "dropout": 0.2,
        **training_defaults(task),
    }


def smallest(task: TaskInfo) -> dict[str, Any]:
    """One block of 8 channels at the lowest resolution, straight to the output: for data
    where even the defaults are too slow for a trial's time."""
    kept = {k: v for k, v in defaults(task).items() if not k.startswith("channels_")}
    return {
        **kept,
        "n_blocks": 1,
        "channels_0": 8,
        "head_width": 0,
        "dropout": 0.0,
    }


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    pooling, (channels, height, width) = downsampled(hp, task)
    blocks: list[nn.Module] = [] if pooling is None else [pooling]
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


FAMILY = register_family_module(__name__)
