"""Exponential smoothing as a network: the forecaster's naive base with learnt offsets.

The statistical forecasters' models run as the forecaster's base (`automl.forecaster`): Holt's
damped trend or Holt-Winters with learnt smoothing weights, the drift line, the last value or
the value one season back. The core adds one learnt offset per step and quantile (in the
window's units), which turns the base's point forecast into quantiles and corrects its average
bias. With a few
dozen parameters it trains in seconds and cannot overfit a short series, and it errs unlike the
deep families, so the ensemble selection can blend it with them (a network plus a smoothing
forecast is what ES-RNN, Smyl 2020, and the Theta method's blend of lines do).

Searched: the naive base, lookback, transform and scaling; plus the shared optimiser space.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.forecaster import bases, forecasting_defaults, suggest_forecasting
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "smoothing"
SUPPORTS = frozenset({"forecasting"})
SUMMARY = "exponential smoothing (Holt, Holt-Winters) or a naive forecast, learnt quantiles"


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    suggest_forecasting(hp, task, univariate=True, naive_only=True)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Holt-Winters (Holt's damped trend where the window holds no two periods) over the
    whole window, scaled per window."""
    forecaster = forecasting_defaults(task, univariate=True)
    if "base" in forecaster:  # not a study of 0.2.0
        forecaster["base"] = "holt_winters" if "holt_winters" in bases(task) else "holt"
    return {**forecaster, **training_defaults(task, lr=1e-2)}


class Offsets(nn.Module):
    """The same learnt numbers for every window: one per step and quantile."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.offsets = nn.Parameter(torch.zeros(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.offsets.expand(x.shape[0], -1)


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return Offsets(task.output_dim)


FAMILY = register_family_module(__name__)
