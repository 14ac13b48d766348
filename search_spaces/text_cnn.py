"""Text CNN (Kim, 2014): word embeddings, parallel convolutions of several widths, max over time.

Each filter width reads n-grams of that length; max-over-time pooling keeps each filter's
strongest match anywhere in the document, so word order matters locally and length not at all.
Searched: embedding width, filter widths, filters per width, dropout, embedding (whole-word)
dropout; plus the shared optimiser space.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.layers import SequenceInput, init_for_activation, masked_pool
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "text_cnn"
SUPPORTS = frozenset({"text_processing"})
SUMMARY = "Kim-style text CNN (parallel filter widths, max over time)"
WIDTHS = {"2-3-4": (2, 3, 4), "3-4-5": (3, 4, 5), "1-2-3": (1, 2, 3), "3-5-7": (3, 5, 7)}


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    hp.int("embed_dim", 16, 256, log=True)
    hp.categorical("widths", WIDTHS)
    hp.int("filters", 16, 256, log=True)
    hp.float("dropout", 0.0, 0.6)
    hp.float("embed_dropout", 0.0, 0.5)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """Kim's CNN-rand settings, narrower: widths 3-4-5, dropout 0.5."""
    return {
        "embed_dim": 64,
        "widths": "3-4-5",
        "filters": 64,
        "dropout": 0.5,
        "embed_dropout": 0.1,
        **training_defaults(task, lr=3e-3),
    }


class TextCNN(nn.Module):
    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        if task.vocab_size is None:
            raise ValueError("text_cnn reads token ids; the data has no vocabulary")
        self.inputs = SequenceInput(
            0,
            task.vocab_size,
            hp["embed_dim"],
            tokens=task.tree_leaves,
            dropout=hp.get("embed_dropout", 0.0),
        )
        self.widths = WIDTHS[hp["widths"]]
        self.convs = nn.ModuleList(
            nn.Conv1d(hp["embed_dim"], hp["filters"], w) for w in self.widths
        )
        self.dropout = nn.Dropout(hp["dropout"])
        self.head = nn.Linear(hp["filters"] * len(self.widths), task.output_dim)
        init_for_activation(self, "relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, mask = self.inputs(x)
        h = h.transpose(1, 2)
        pooled = []
        for width, conv in zip(self.widths, self.convs, strict=True):
            # position t reads the n-gram that starts at token t (zeros past the end)
            grams = torch.relu(conv(nn.functional.pad(h, (0, width - 1))))
            pooled.append(masked_pool(grams.transpose(1, 2), mask, "max"))
        return self.head(self.dropout(torch.cat(pooled, dim=1)))


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return TextCNN(hp, task)


FAMILY = register_family_module(__name__)
