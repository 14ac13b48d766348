"""Bag of n-grams (fastText, Joulin et al. 2017): word and hashed word-n-gram vectors averaged,
then a linear or one-hidden-layer head.

What TF-IDF + a linear model sees (which words and short phrases occur), learnt end to end:
the strong baseline small corpora need, and an ensemble member the sequence families add
word order to. Bigrams and trigrams are hashed from the token ids inside the network into
`buckets` shared rows, so the preprocessing and the exported graph stay the plain token ids.
Searched: n-gram order, buckets, vector width, head, dropout (of single n-grams and of the
average); plus the shared optimiser space.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "fasttext"
SUPPORTS = frozenset({"text_processing"})
SUMMARY = "fastText bag of hashed word n-grams (averaged vectors, linear or MLP head)"
BUCKETS = (2**14, 2**16, 2**18)
PRIME = 1_000_003  # mixes the ids of an n-gram's words into one hash


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    hp.int("ngrams", 1, 3)
    hp.categorical("buckets", BUCKETS)
    hp.int("embed_dim", 16, 128, log=True)
    hp.categorical("hidden", [0, 64, 256])
    hp.float("dropout", 0.0, 0.5)
    hp.float("embed_dropout", 0.0, 0.5)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    """fastText's supervised setting: words and bigrams, a linear head, a high rate."""
    return {
        "ngrams": 2,
        "buckets": 2**16,
        "embed_dim": 64,
        "hidden": 0,
        "dropout": 0.0,
        "embed_dropout": 0.0,
        **training_defaults(task, lr=1e-2),
    }


class FastText(nn.Module):
    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        if task.vocab_size is None:
            raise ValueError("fasttext reads token ids; the data has no vocabulary")
        self.vocab = task.vocab_size
        self.ngrams, self.buckets = hp["ngrams"], hp["buckets"]
        self.tokens = task.tree_leaves
        self.embed_dropout = hp["embed_dropout"]
        buckets = self.buckets if self.ngrams > 1 else 0
        self.embed = nn.Embedding(self.vocab + buckets, hp["embed_dim"], padding_idx=0)
        nn.init.uniform_(self.embed.weight, -1 / hp["embed_dim"], 1 / hp["embed_dim"])
        with torch.no_grad():
            self.embed.weight[0].zero_()
        width = hp["embed_dim"]
        head: list[nn.Module] = [nn.Dropout(hp["dropout"])]
        if hp["hidden"]:
            head += [nn.Linear(width, hp["hidden"]), nn.ReLU(), nn.Dropout(hp["dropout"])]
            width = hp["hidden"]
        self.head = nn.Sequential(*head, nn.Linear(width, task.output_dim))

    def grams(self, tokens: torch.Tensor) -> torch.Tensor:
        """The ids of every word and hashed n-gram (n, T * ngrams); 0 where one is padding.
        Each order keeps T positions (zeros follow the last word), so a graph's steps axis
        may take any length."""
        steps = tokens.shape[1]
        following = nn.functional.pad(tokens, (0, self.ngrams - 1))
        ids, code, real = [tokens], tokens, tokens != 0
        for n in range(1, self.ngrams):
            word = following[:, n : n + steps]
            code = code * PRIME + word
            real = real & (word != 0)
            ids.append(torch.where(real, self.vocab + code % self.buckets, 0))
        return torch.cat(ids, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x[:, : self.tokens] if self.tokens is not None else x
        ids = self.grams(tokens)
        real = (ids != 0).to(torch.float32)
        if self.training and self.embed_dropout > 0:
            real = real * (torch.rand(real.shape, device=x.device) >= self.embed_dropout)
        total = (self.embed(ids) * real[..., None]).sum(dim=1)
        return self.head(total / real.sum(dim=1, keepdim=True).clamp_min(1.0))


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return FastText(hp, task)


FAMILY = register_family_module(__name__)
