"""Deliberately broken families, registered through the public registry, to check that a
failing trial is recorded with its reason and the search goes on."""

from __future__ import annotations

import time

import torch
from torch import nn

from automl.families import Family, register_family

ROWS = frozenset({"classification", "image_recognition"})
OOM_ABOVE = 16  # the 'oom' family runs out of memory on training batches larger than this
SLEEP_S = 600.0  # the 'sleeps' family hangs this long in its first forward pass


def _no_params(trial, task):
    return {}


def _defaults(task):
    return {}


class _Broken(nn.Module):
    def __init__(self, task) -> None:
        super().__init__()
        self.linear = nn.Linear(1, task.output_dim)

    def forward(self, x):
        raise RuntimeError("this family raises on purpose")


class _NaN(_Broken):
    def forward(self, x):
        return self.linear(x.new_full((len(x), 1), float("nan")))


class _Sleeps(_Broken):
    def forward(self, x):
        if not x.is_meta:  # the driver sizes every architecture on the meta device
            time.sleep(SLEEP_S)  # a hang: no report, no exception
        return self.linear(x.new_zeros((len(x), 1)))


class _OutOfMemory(_Broken):
    """Trains (as a constant predictor) only at small batches, like a network too big for a
    GPU at its first batch size."""

    def forward(self, x):
        if self.training and len(x) > OOM_ABOVE and not x.is_meta:
            if x.is_cuda:  # a real one: more than any GPU has
                x.new_empty((1 << 40,))
            raise torch.OutOfMemoryError(f"CUDA out of memory (a batch of {len(x)}, on purpose)")
        return self.linear(x.new_zeros((len(x), 1)))


def _oom_params(trial, task):
    return {"oom.train_batch_size": trial.suggest_categorical("oom.train_batch_size", [32])}


def _broken(module):
    return lambda params, task: module(task)


RAISES = register_family(Family("raises", ROWS, _no_params, _broken(_Broken), _defaults))
NAN = register_family(Family("nan", ROWS, _no_params, _broken(_NaN), _defaults))
SLEEPS = register_family(Family("sleeps", ROWS, _no_params, _broken(_Sleeps), _defaults))
OOM = register_family(
    Family(
        "oom",
        ROWS,
        _oom_params,
        _broken(_OutOfMemory),
        lambda task: {"oom.train_batch_size": 32},
    )
)
