"""N-BEATS (Oreshkin et al. 2020): a deep MLP forecaster of residual blocks.

Each block reads what the blocks before it left unexplained of the window, and emits a backcast
(its reading of the window, subtracted for the next block) and a forecast (summed over blocks).
"generic" blocks project to both with linear layers; "interpretable" ones through fixed bases:
a low-degree polynomial (trend) and sines and cosines of the series' period (season), so a
forecast is a trend plus a season by construction. Only forecasting searches it, on the series
itself (feature 0 of the window; covariates are for the sequence families). It runs inside
`automl.forecaster`, which scales the window and adds the naive base.

Searched: block kind, blocks, width, layers per block, trend degree, harmonics; plus the
forecaster's choices and the shared optimiser space.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.forecaster import forecasting_defaults, suggest_forecasting
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "nbeats"
SUPPORTS = frozenset({"forecasting"})
SUMMARY = "N-BEATS: residual MLP blocks with trend and season bases (forecasting)"
MAX_BLOCKS = 4


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    kind = hp.categorical("blocks_kind", ["generic", "interpretable"])
    hp.int("n_blocks", 1, MAX_BLOCKS)
    hp.int("width", 32, 512, log=True)
    hp.int("layers", 2, 4)
    if kind == "interpretable":
        hp.int("degree", 1, 3)
        hp.int("harmonics", 1, max(1, min(6, _period(task) // 2)))
    hp.float("dropout", 0.0, 0.3)
    suggest_forecasting(hp, task, univariate=True)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Generic blocks (the paper's best single model on M4) at a CPU-friendly width."""
    return {
        "blocks_kind": "generic",
        "n_blocks": 3,
        "width": 256,
        "layers": 3,
        "dropout": 0.0,
        **forecasting_defaults(task, univariate=True),
        **training_defaults(task, lr=1e-3),
    }


def _period(task: TaskInfo) -> int:
    return int((task.forecast or {}).get("period", 1))


def _mlp(inputs: int, width: int, layers: int, dropout: float) -> nn.Sequential:
    stack: list[nn.Module] = []
    for i in range(layers):
        stack += [nn.Linear(inputs if i == 0 else width, width), nn.ReLU()]
        if dropout > 0:
            stack.append(nn.Dropout(dropout))
    return nn.Sequential(*stack)


def trend_basis(degree: int, lookback: int, horizon: int) -> torch.Tensor:
    """(degree + 1, lookback + horizon): powers of time, 0 at the forecast origin, in units of
    the horizon (the window's steps are negative)."""
    t = torch.arange(-lookback, horizon, dtype=torch.float32) / max(horizon, 1)
    return torch.stack([t**p for p in range(degree + 1)])


def season_basis(harmonics: int, period: int, lookback: int, horizon: int) -> torch.Tensor:
    """(2 x harmonics, lookback + horizon): sines and cosines of the period and its harmonics
    (of the horizon when the series has no period)."""
    t = torch.arange(-lookback, horizon, dtype=torch.float32)
    cycle = period if period > 1 else max(horizon, 2)
    waves = [2 * math.pi * k * t / cycle for k in range(1, harmonics + 1)]
    return torch.stack([f(w) for w in waves for f in (torch.sin, torch.cos)])


class Block(nn.Module):
    """One N-BEATS block: an MLP, then coefficients over a basis (or linear projections)."""

    def __init__(
        self,
        lookback: int,
        outputs: int,
        hp: dict[str, Any],
        basis: torch.Tensor | None,
        last: bool,
    ) -> None:
        super().__init__()
        self.lookback, self.outputs = lookback, outputs
        self.mlp = _mlp(lookback, hp["width"], hp["layers"], hp["dropout"])
        if basis is None:  # the last block's backcast would be read by no one
            self.backcast = None if last else nn.Linear(hp["width"], lookback)
            self.forecast = nn.Linear(hp["width"], outputs)
            self.basis = None
        else:  # one coefficient set for the backcast, one per quantile for the forecast
            self.register_buffer("basis", basis, persistent=False)
            self.n_quantiles = outputs // (basis.shape[1] - lookback)
            self.theta = nn.Linear(hp["width"], basis.shape[0] * (1 + self.n_quantiles))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.mlp(x)
        if self.basis is None:
            back = self.backcast(h) if self.backcast is not None else torch.zeros_like(x)
            return back, self.forecast(h)
        size = self.basis.shape[0]
        theta = self.theta(h).reshape(-1, 1 + self.n_quantiles, size)
        back = theta[:, 0] @ self.basis[:, : self.lookback]
        ahead = theta[:, 1:] @ self.basis[:, self.lookback :]  # (n, Q, horizon)
        return back, ahead.transpose(1, 2).reshape(-1, self.outputs)


class NBeats(nn.Module):
    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        lookback, horizon = int(task.input_shape[0]), int(task.horizon)
        outputs = task.output_dim
        blocks = []
        for i in range(hp["n_blocks"]):
            basis = None
            if hp["blocks_kind"] == "interpretable":  # trend and season blocks in turn
                basis = (
                    trend_basis(hp["degree"], lookback, horizon)
                    if i % 2 == 0
                    else season_basis(hp["harmonics"], _period(task), lookback, horizon)
                )
            blocks.append(Block(lookback, outputs, hp, basis, last=i == hp["n_blocks"] - 1))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = torch.nan_to_num(x[..., 0], nan=0.0)  # steps before the series began: 0
        forecast = 0.0
        for block in self.blocks:
            back, ahead = block(residual)
            residual = residual - back
            forecast = forecast + ahead
        return forecast


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return NBeats(hp, task)


FAMILY = register_family_module(__name__)
