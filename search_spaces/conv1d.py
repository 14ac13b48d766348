"""1-D CNN: temporal convolution blocks with global pooling, the contender for series.

Ismail Fawaz et al. (2019) found FCN- and ResNet-style 1-D CNNs the strongest deep baselines on
the UCR/UEA archive, so the search must be able to find them: blocks of conv -> batch norm ->
ReLU (FCN), optionally with residual skips (ResNet), then global average or max pooling over the
real steps. Searched: blocks, channels, kernel width, residuals, pooling, dropout, a
forecaster's input window; plus the shared optimiser space.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.forecaster import forecasting_defaults, suggest_forecasting
from automl.layers import (
    SequenceInput,
    init_for_activation,
    masked_pool,
)
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "conv1d"
SUPPORTS = frozenset({"time_series", "speech_recognition"})
SUMMARY = "1-D CNN over time (FCN/ResNet-style blocks, global pooling)"
MAX_BLOCKS = 4
KERNELS = (3, 5, 7, 9)


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    for i in range(hp.int("n_blocks", 1, MAX_BLOCKS)):
        hp.int(f"channels_{i}", 16, 128, log=True)
    hp.categorical("kernel", KERNELS)
    hp.categorical("residual", [True, False])
    hp.categorical("pooling", ["mean", "max"])
    hp.float("dropout", 0.0, 0.5)
    suggest_forecasting(hp, task)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """FCN's shape (three blocks, 128-256-128 filters in the paper) at a CPU-friendly width."""
    return {
        "n_blocks": 3,
        "channels_0": 64,
        "channels_1": 128,
        "channels_2": 64,
        "kernel": 7,
        "residual": False,
        "pooling": "mean",
        "dropout": 0.1,
        **forecasting_defaults(task),
        **training_defaults(task, lr=3e-3),
    }


class ConvBlock1d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel: int, residual: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, padding="same", bias=False)
        self.norm = nn.BatchNorm1d(out_channels)
        self.skip = None
        if residual:
            self.skip = (
                nn.Identity()
                if in_channels == out_channels
                else nn.Conv1d(in_channels, out_channels, 1, bias=False)
            )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.norm(self.conv(x))
        if self.skip is not None:
            out = out + self.skip(x)
        return torch.relu(out) * mask[:, None, :]  # padding stays zero for the next block


class TemporalCNN(nn.Module):
    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        self.inputs = SequenceInput(task.input_shape[-1], None, 0, hp.get("lookback", 0))
        self.pooling = hp["pooling"]
        width = self.inputs.out_features
        blocks = []
        for i in range(hp["n_blocks"]):
            out = hp[f"channels_{i}"]
            blocks.append(ConvBlock1d(width, out, hp["kernel"], hp["residual"]))
            width = out
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(hp["dropout"])
        self.head = nn.Linear(width, task.output_dim)
        init_for_activation(self, "relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, mask = self.inputs(x)
        h = h.transpose(1, 2)  # (n, features, time) for Conv1d
        for block in self.blocks:
            h = block(h, mask)
        pooled = masked_pool(h.transpose(1, 2), mask, self.pooling)
        return self.head(self.dropout(pooled))


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return TemporalCNN(hp, task)


FAMILY = register_family_module(__name__)
