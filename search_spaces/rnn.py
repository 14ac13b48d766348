"""Recurrent nets: the guide's net for text, speech and time series.

Searched: cell (GRU, LSTM, or a plain tanh RNN), depth, hidden size, direction, dropout between
layers, how the sequence is summarised (last state, mean or max over real steps, attention),
the token embedding width and whole-word dropout for text, a forecaster's input window; plus
the shared optimiser space, whose gradient clipping is the guide's cure for exploding
gradients through long sequences.

Padding never leaks into the result: a backward pass reverses each sequence within its own
length, and pooling reads only real steps (see `automl.layers.SequenceInput`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.forecaster import forecasting_defaults, suggest_forecasting
from automl.layers import (
    AttentionPool,
    SequenceInput,
    masked_pool,
    real_span,
    reverse_real_steps,
)
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "rnn"
SUPPORTS = frozenset({"text_processing", "speech_recognition", "time_series"})
SUMMARY = "recurrent net (GRU/LSTM/tanh RNN, masked pooling)"
CELLS: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}
POOLINGS = ("last", "mean", "max", "attention")
MAX_LAYERS = 3


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    hp.categorical("cell", CELLS)
    hp.int("n_layers", 1, MAX_LAYERS)
    hp.int("hidden", 16, 256, log=True)
    hp.categorical("bidirectional", [True, False])
    hp.float("dropout", 0.0, 0.5)
    hp.categorical("pooling", POOLINGS)
    if task.vocab_size is not None:
        hp.int("embed_dim", 16, 256, log=True)
        hp.float("embed_dropout", 0.0, 0.5)
    suggest_forecasting(hp, task)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    params: dict[str, Any] = {
        "cell": "gru",
        "n_layers": 1,
        "hidden": 64,
        "bidirectional": True,
        "dropout": 0.1,
        "pooling": "mean",
        **training_defaults(task, lr=3e-3),
        "train_grad_clip": 1.0,
    }
    if task.vocab_size is not None:
        params.update(embed_dim=64, embed_dropout=0.1)
    return {**params, **forecasting_defaults(task)}


class RecurrentNet(nn.Module):
    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        self.inputs = SequenceInput(
            task.input_shape[-1],
            task.vocab_size,
            hp.get("embed_dim", 0),
            hp.get("lookback", 0),
            tokens=task.tree_leaves,
            dropout=hp.get("embed_dropout", 0.0),
        )
        self.pooling = hp["pooling"]
        self.hidden = hp["hidden"]
        cell = CELLS[hp["cell"]]
        width = self.inputs.out_features
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for _ in range(hp["n_layers"]):
            self.forward_layers.append(cell(width, hp["hidden"], batch_first=True))
            if hp["bidirectional"]:
                self.backward_layers.append(cell(width, hp["hidden"], batch_first=True))
            width = hp["hidden"] * (2 if hp["bidirectional"] else 1)
        self.dropout = nn.Dropout(hp["dropout"])
        self.attention = AttentionPool(width) if self.pooling == "attention" else None
        self.head = nn.Linear(width, task.output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, mask = self.inputs(x)
        first, last = real_span(mask)
        for i, forward_layer in enumerate(self.forward_layers):
            out, _ = forward_layer(h)
            if self.backward_layers:
                back, _ = self.backward_layers[i](reverse_real_steps(h, first, last))
                out = torch.cat([out, reverse_real_steps(back, first, last)], dim=-1)
            h = self.dropout(out)
        if self.pooling == "last":
            rows = torch.arange(h.shape[0], device=h.device)
            state = h[rows, last]
            if self.backward_layers:  # the backward pass ends at the first real step
                state = torch.cat([state[:, : self.hidden], h[rows, first, self.hidden :]], dim=-1)
            return self.head(state)
        if self.attention is not None:
            return self.head(self.attention(h, mask))
        return self.head(masked_pool(h, mask, self.pooling))


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return RecurrentNet(hp, task)


FAMILY = register_family_module(__name__)
